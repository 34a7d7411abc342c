"""The HTTP API through the framework's test client: every endpoint, every option and every kind of bad request."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from facemotion.inference.recognizer import Recognizer
from facemotion.labels import EMOTIONS
from facemotion.serving.schemas import ErrorResponse, PredictResponse, ReadyResponse
from facemotion.types import FaceResult, ImageResult
from tests.inference.bad_images import encode, face_like, png_claiming_size, truncated_jpeg
from tests.serving.conftest import png

DARK = np.full((64, 64), 20, np.uint8)
BRIGHT = np.full((64, 64), 235, np.uint8)


def assert_error(response: Any, status: int, *fragments: str) -> dict:
    """The response has this status, a JSON ``{"error": ...}`` body, and the message names every fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    ErrorResponse.model_validate(body)
    for fragment in fragments:
        assert fragment in body["error"], body["error"]
    return body


# ---- /v1/predict: the answer -------------------------------------------------------------------------------------

def test_multipart_upload_returns_the_recognizers_json(client: Any, brightness_onnx: Path) -> None:
    data = png(BRIGHT)
    response = client.post("/v1/predict", files={"image": ("bright.png", data, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    PredictResponse.model_validate(body)
    expected = [face.to_dict() for face in Recognizer(str(brightness_onnx), "none").predict(data)]
    assert body["faces"] == expected
    assert body["faces"][0]["emotion"] == "neutral"
    assert (body["path"], body["width"], body["height"], body["error"]) == ("bright.png", 64, 64, None)
    assert (body["detector"], body["model"]) == ("none", "brightness.onnx")  # a file by its name, not its path
    assert set(body["timing_ms"]) == {"queue", "decode", "inference", "total"}
    assert body["timing_ms"]["total"] >= body["timing_ms"]["inference"] > 0
    assert "total;dur=" in response.headers["server-timing"]


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", None])
def test_raw_body_upload(client: Any, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/predict", content=png(DARK), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["path"] is None and body["faces"][0]["emotion"] == "angry"


def test_response_keys_are_image_result_keys_plus_service_fields(client: Any) -> None:
    body = client.post("/v1/predict", content=png(DARK)).json()
    assert list(body)[:5] == list(ImageResult(None).to_dict())
    assert set(body) - set(ImageResult(None).to_dict()) == {"model", "detector", "timing_ms"}


def test_top_k_lists_the_most_probable_emotions(client: Any) -> None:
    face = client.post("/v1/predict", params={"top_k": 3}, content=png(BRIGHT)).json()["faces"][0]
    assert [entry["emotion"] for entry in face["top_k"]][0] == face["emotion"]
    probabilities = [entry["probability"] for entry in face["top_k"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
    assert "top_k" not in client.post("/v1/predict", content=png(BRIGHT)).json()["faces"][0]
    # more than the model has labels: all of them, once each (the limit is the model's, not FER2013's seven)
    every = client.post("/v1/predict", params={"top_k": 20}, content=png(BRIGHT)).json()["faces"][0]["top_k"]
    assert sorted(entry["emotion"] for entry in every) == sorted(face["probabilities"])


def test_no_face_gives_an_empty_list(client: Any) -> None:
    body = client.post("/v1/predict", params={"detector": "haar"}, content=png(BRIGHT)).json()
    assert body["faces"] == [] and body["detector"] == "haar"


def test_model_and_detector_choices_load_once_and_are_cached(client: Any) -> None:
    recognizers = client.app.state.recognizers
    first = client.post("/v1/predict", params={"model": "fast", "detector": "none"}, content=png(BRIGHT))
    assert first.status_code == 200, first.text
    assert first.json()["model"] == "fast"
    probabilities = first.json()["faces"][0]["probabilities"]
    assert list(probabilities) == list(EMOTIONS) and abs(sum(probabilities.values()) - 1) < 1e-3
    cached = recognizers.get("fast", "none")
    client.post("/v1/predict", params={"model": "fast", "detector": "haar"}, content=png(BRIGHT))
    assert recognizers.get("fast", "none") is cached
    assert recognizers.get("fast", "haar").classifier is cached.classifier  # the fast model was loaded once
    assert recognizers.get(None, "none") is recognizers.get()  # the start-up choice is the start-up Recognizer


def test_every_packaged_tier_answers_a_request(client: Any) -> None:
    from facemotion.inference.weights import PACKAGED_MODELS, model_card

    for name in PACKAGED_MODELS:
        body = client.post("/v1/predict", params={"model": name, "detector": "none"}, content=png(BRIGHT)).json()
        assert body["model"] == name and list(body["faces"][0]["probabilities"]) == model_card(name)["output"][
            "labels"]


def test_an_unavailable_detector_is_a_400_naming_the_fix(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(tmp_path / "gone.onnx"))  # the wheel's copy is not used then
    assert_error(client.post("/v1/predict", params={"detector": "yunet"}, content=png(DARK)), 400,
                 "FACEMOTION_YUNET_MODEL", "download-models")


@pytest.mark.parametrize(("params", "fragment"), [
    ({"detector": "hog"}, "detector"), ({"model": "large"}, "model"), ({"top_k": 0}, "top_k"),
    ({"top_k": 101}, "top_k"), ({"top_k": "two"}, "top_k"),
])
def test_unknown_query_values_are_422_json(client: Any, params: dict, fragment: str) -> None:
    assert_error(client.post("/v1/predict", params=params, content=png(DARK)), 422, fragment,
                 str(next(iter(params.values()))))


# ---- /v1/predict: bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "status", "fragment"), [
    ({"content": b""}, 400, "empty"),
    ({"content": b"hello, not an image"}, 400, "not an image"),
    ({"content": truncated_jpeg(), "headers": {"Content-Type": "image/jpeg"}}, 400, "truncated or corrupt"),
    ({"content": png_claiming_size(10_000, 9_000)}, 400, "90,000,000 pixels is over the limit of 50,000,000"),
    ({"content": b"text", "headers": {"Content-Type": "text/plain"}}, 415, "text/plain"),
    ({"content": b'{"image": 1}', "headers": {"Content-Type": "application/json"}}, 415, "application/json"),
    ({"data": {"image": "abc"}}, 415, "application/x-www-form-urlencoded"),
    ({"files": {"photo": ("a.png", png(DARK), "image/png")}}, 400, "no field 'image' (fields: photo)"),
    ({"files": {"image": ("a.png", b"", "image/png")}}, 400, "'a.png' is empty"),
    ({"files": {"image": ("a.txt", b"plain words", "text/plain")}}, 400, "not an image"),
    ({"files": {"x": ("a.png", b"1", "image/png")}, "data": {"image": "text"}}, 400, "must be a file"),
    ({"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, 400, ""),
])
def test_bad_uploads_get_a_json_error(client: Any, kwargs: dict, status: int, fragment: str) -> None:
    assert_error(client.post("/v1/predict", **kwargs), status, fragment)


def test_the_pixel_limit_is_checked_before_decoding(make_client: Any) -> None:
    with make_client(max_pixels=1000) as client:
        assert_error(client.post("/v1/predict", content=png(DARK)), 400, "64x64 = 4,096 pixels", "1,000")
        assert client.post("/v1/predict", content=png(DARK[:20, :20])).status_code == 200


def test_exif_rotated_uploads_report_the_upright_size(client: Any) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a 60x40 stored image is 40x60 upright
    data = encode(Image.fromarray(face_like(40, 60)), "JPEG", exif=exif.tobytes())
    body = client.post("/v1/predict", content=data).json()
    assert (body["width"], body["height"]) == (40, 60)


def test_uploads_over_the_byte_limit_are_413(make_client: Any) -> None:
    big = png(np.random.default_rng(0).integers(0, 255, (100, 100), dtype=np.uint8))
    assert len(big) > 2000

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(big), 500):
            yield big[start:start + 500]

    with make_client(max_upload_bytes=2000) as client:
        assert_error(client.post("/v1/predict", content=big), 413, "2,000 bytes")
        assert_error(client.post("/v1/predict", content=chunks()), 413, "2,000 bytes")
        assert_error(client.post("/v1/predict", files={"image": ("big.png", big, "image/png")}), 413)
        assert client.post("/v1/predict", content=png(DARK)).status_code == 200


# ---- limits on work ----------------------------------------------------------------------------------------------

class BlockingClassifier:
    """Waits for ``release`` before answering, so a test can hold a worker busy; counts its calls."""

    def __init__(self, wait: float = 10.0) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.wait = wait

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        self.started.set()
        self.release.wait(self.wait)
        return np.full((len(crops), 7), 1 / 7, np.float32)


def test_a_saturated_server_answers_503_with_retry_after(make_client: Any) -> None:
    classifier = BlockingClassifier()
    with make_client(classifier=classifier, workers=1, max_queue=1, retry_after_s=2) as client:
        limiter = client.app.state.limiter
        answers: list[int] = []
        threads = [threading.Thread(target=lambda: answers.append(client.post("/v1/predict",
                                                                              content=png(DARK)).status_code))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while limiter.in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert limiter.in_flight == 2  # one running, one queued: the capacity
        body = assert_error(client.post("/v1/predict", content=png(DARK)), 503, "busy", "retry in 2 s")
        response = client.post("/v1/predict", content=png(DARK))
        assert response.headers["retry-after"] == "2" and body
        classifier.release.set()
        for thread in threads:
            thread.join(10)
        assert answers == [200, 200]
        assert limiter.in_flight == 0
        assert client.get("/readyz").json()["in_flight"] == 0


def test_a_slow_inference_is_a_504_and_keeps_its_slot_until_it_ends(make_client: Any) -> None:
    classifier = BlockingClassifier()
    with make_client(classifier=classifier, timeout_s=0.3, workers=1, max_queue=0) as client:
        assert_error(client.post("/v1/predict", content=png(DARK)), 504, "longer than 0.3 s")
        limiter = client.app.state.limiter
        assert limiter.in_flight == 1  # the thread cannot be stopped: its slot stays taken, so 503 for now
        assert_error(client.post("/v1/predict", content=png(DARK)), 503, "busy")
        classifier.release.set()
        deadline = time.monotonic() + 10
        while limiter.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert limiter.in_flight == 0
        classifier.release.set()
        assert client.post("/v1/predict", content=png(DARK)).status_code == 200


def test_a_slow_upload_is_a_408(brightness_onnx: Path) -> None:
    import asyncio

    from facemotion.serving.app import create_app
    from tests.serving.conftest import settings_for

    app = create_app(Recognizer(str(brightness_onnx), "none"), settings=settings_for(brightness_onnx, timeout_s=0.2))
    sent: list[dict] = []

    async def receive() -> dict:
        await asyncio.sleep(0.15)  # a trickle: 0.3 s for the whole body
        return {"type": "http.request", "body": b"\x89PNG", "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/predict", "raw_path": b"/v1/predict", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"image/png"), (b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    assert sent[0]["status"] == 408
    assert b"did not arrive within 0.2 s" in sent[1]["body"]
    assert app.state.limiter.in_flight == 0


class FailingClassifier:
    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")


def test_an_unexpected_failure_is_a_500_json_without_details(make_client: Any) -> None:
    with make_client(classifier=FailingClassifier()) as client:
        body = assert_error(client.post("/v1/predict", content=png(DARK)), 500, "internal server error")
        assert "boom" not in body["error"]
        assert client.app.state.limiter.in_flight == 0


# ---- API key and CORS --------------------------------------------------------------------------------------------

def test_an_api_key_guards_v1_only(make_client: Any) -> None:
    with make_client(api_key="s3cret") as client:
        response = client.post("/v1/predict", content=png(DARK))
        assert_error(response, 401, "API key")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(client.post("/v1/predict", content=png(DARK), headers={"X-API-Key": "wrong"}), 401)
        assert_error(client.post("/v1/predict", content=png(DARK), headers={"Authorization": "Bearer nope"}), 401)
        assert client.post("/v1/predict", content=png(DARK), headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.post("/v1/predict", content=png(DARK),
                           headers={"Authorization": "Bearer s3cret"}).status_code == 200
        for path in ("/healthz", "/readyz", "/", "/openapi.json"):
            assert client.get(path).status_code == 200, path


def test_cors_allows_only_the_configured_origins(make_client: Any) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    with make_client(cors_origins=("https://app.example",)) as client:
        ok = client.options("/v1/predict", headers={"Origin": "https://app.example", **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example"
        post = client.post("/v1/predict", content=png(DARK), headers={"Origin": "https://app.example"})
        assert post.headers["access-control-allow-origin"] == "https://app.example"
        other = client.options("/v1/predict", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
    with make_client() as client:  # no origins configured: no CORS headers at all
        post = client.post("/v1/predict", content=png(DARK), headers={"Origin": "https://app.example"})
        assert post.status_code == 200 and "access-control-allow-origin" not in post.headers


# ---- health, readiness, page, docs, unknown routes ---------------------------------------------------------------

def test_healthz_and_readyz(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ReadyResponse.model_validate(ready.json())
    assert (body.detector, body.workers, body.capacity, body.in_flight) == ("none", 2, 6, 0)


def test_readyz_is_503_until_the_background_load_ends(brightness_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facemotion.serving import recognizers as recognizers_module
    from facemotion.serving.app import create_app
    from tests.serving.conftest import TestClient, settings_for

    gate = threading.Event()
    real = recognizers_module.build_recognizer

    def slow_build(*args: Any, **kwargs: Any) -> Recognizer:
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(recognizers_module, "build_recognizer", slow_build)
    with TestClient(create_app(settings=settings_for(brightness_onnx))) as client:
        assert client.get("/healthz").status_code == 200
        assert_error(client.get("/readyz"), 503, "loading")
        response = client.post("/v1/predict", content=png(DARK))
        assert_error(response, 503, "loading")
        assert response.headers["retry-after"] == "1"
        gate.set()
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.post("/v1/predict", content=png(DARK)).status_code == 200


def test_readyz_says_why_the_model_failed_to_load(tmp_path: Path) -> None:
    from facemotion.serving.app import create_app
    from facemotion.serving.settings import ServeSettings
    from tests.serving.conftest import TestClient

    missing = tmp_path / "missing.onnx"
    with TestClient(create_app(settings=ServeSettings(model=str(missing), detector="none"))) as client:
        deadline = time.monotonic() + 10
        while "missing.onnx" not in client.get("/readyz").text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert_error(client.get("/readyz"), 503, "missing.onnx")


def test_the_page_and_its_assets_are_served(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for fragment in ('name="viewport"', 'id="file"', 'id="canvas"', 'id="cam-start"', '"static/app.js"'):
        assert fragment in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "getUserMedia" in script.text and "/v1/predict" in script.text
    assert client.get("/static/style.css").status_code == 200


def test_the_openapi_schema_describes_the_response_and_the_upload(client: Any) -> None:
    assert "swagger" in client.get("/docs").text.lower()
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/predict"]["post"]
    assert {"multipart/form-data", "image/*", "application/octet-stream"} <= set(operation["requestBody"]["content"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PredictResponse")
    assert {"400", "401", "408", "413", "415", "422", "503", "504"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"detector", "model", "top_k", "explain"}
    components = schema["components"]["schemas"]
    # the schema mirrors to_dict(), top_k and heatmap included
    assert set(components["FaceModel"]["properties"]) == set(_sample_face().to_dict(top_k=2)) | {"heatmap"}
    assert list(components["Probabilities"]["properties"]) == list(EMOTIONS)
    assert set(components["PredictResponse"]["properties"]) == set(ImageResult(None).to_dict()) | {
        "model", "detector", "timing_ms"}


def _sample_face() -> FaceResult:
    from facemotion.types import Box, Detection

    return FaceResult.from_probabilities(Detection(Box(0, 0, 4, 4), 0.9), [1 / 7] * 7)


@pytest.mark.parametrize(("method", "path", "status"), [("get", "/nope", 404), ("get", "/v1/predict", 405),
                                                        ("delete", "/healthz", 405)])
def test_unknown_routes_and_methods_are_json(client: Any, method: str, path: str, status: int) -> None:
    assert_error(getattr(client, method)(path), status)


def test_the_uvicorn_factory_reads_its_settings_from_the_environment(brightness_onnx: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from facemotion.serving.app import app_from_env
    from tests.serving.conftest import TestClient

    env = {"FACEMOTION_MODEL": str(brightness_onnx), "FACEMOTION_DETECTOR": "none", "FACEMOTION_API_KEY": "env-key",
           "FACEMOTION_WORKERS": "1", "FACEMOTION_MAX_QUEUE": "2"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with TestClient(app_from_env()) as client:
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/readyz").json()["capacity"] == 3
        assert_error(client.post("/v1/predict", content=png(BRIGHT)), 401)
        response = client.post("/v1/predict", content=png(BRIGHT), headers={"X-API-Key": "env-key"})
        assert response.status_code == 200 and response.json()["faces"][0]["emotion"] == "neutral"
