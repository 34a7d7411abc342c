"""The hostile tester's HTTP findings (issue 14): slow and abandoned uploads, HEAD, server paths in errors, UTF-8 API
keys, Host-header redirects and the OpenAPI security declaration, each through the app in-process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.inference.recognizer import Recognizer
from facemotion.serving.app import create_app
from facemotion.serving.settings import ServeSettings
from tests.serving.asgi import abandon, call, trickle, whole
from tests.serving.conftest import png, settings_for
from tests.serving.test_app import assert_error

DARK = np.full((64, 64), 20, np.uint8)


def _app(model: Path, **overrides: Any) -> Any:
    return create_app(Recognizer(str(model), "none"), settings=settings_for(model, **overrides))


# ---- row 2: slow uploads do not hold inference slots ----------------------------------------------------------------

def test_slow_uploads_do_not_take_inference_slots(brightness_onnx: Path) -> None:
    app = _app(brightness_onnx, workers=1, max_queue=2, timeout_s=1.0)

    async def main() -> tuple[list[Any], Any]:
        slow = [asyncio.ensure_future(call(app, trickle(0.05))) for _ in range(3)]
        await asyncio.sleep(0.2)  # three uploads under way: as many as the capacity
        assert app.state.limiter.in_flight == 0
        fast = await asyncio.wait_for(call(app, whole(png(DARK))), 5)
        return list(await asyncio.wait_for(asyncio.gather(*slow), 5)), fast

    slow, fast = asyncio.run(main())
    assert fast.status == 200, fast.body
    assert [answer.status for answer in slow] == [408] * 3
    assert b"did not arrive within 1 s" in slow[0].body
    assert app.state.limiter.in_flight == 0 and app.state.uploads.held == 0


def test_a_saturated_server_refuses_before_reading_the_upload(brightness_onnx: Path) -> None:
    app = _app(brightness_onnx, workers=1, max_queue=0)
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": png(DARK), "more_body": False}

    async def main() -> Any:
        with app.state.limiter.admit():
            return await call(app, receive)

    assert asyncio.run(main()).status == 503 and reads == 0


def test_uploads_in_memory_are_bounded_by_a_byte_budget(brightness_onnx: Path) -> None:
    app = _app(brightness_onnx, workers=1, max_queue=0, max_upload_bytes=10_000)
    assert app.state.uploads.limit == 10_000  # capacity x upload limit: the bound slots used to give

    async def main() -> Any:
        app.state.uploads.take(9_000)  # an upload under way elsewhere
        try:
            return await call(app, whole(png(np.random.default_rng(0).integers(0, 255, (40, 40), np.uint8))))
        finally:
            app.state.uploads.give(9_000)

    answer = asyncio.run(main())
    assert answer.status == 503 and b"uploads" in answer.body and answer.headers["retry-after"] == "1"
    assert app.state.uploads.held == 0


# ---- row 6: a client closing mid-upload is one log line ---------------------------------------------------------

def test_a_client_closing_mid_upload_logs_one_line(brightness_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(brightness_onnx)
    with caplog.at_level(logging.DEBUG):
        asyncio.run(asyncio.wait_for(call(app, abandon(b"\x89PNG" * 10)), 5))  # returns instead of raising
    records = [r for r in caplog.records if r.name.startswith("facemotion")]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "closed the connection" in records[0].getMessage()
    assert "40 bytes" in records[0].getMessage()
    assert app.state.limiter.in_flight == 0 and app.state.uploads.held == 0


# ---- row 9: HEAD ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/", "/static/app.js"])
def test_head_is_answered_like_get_without_a_body(client: Any, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == client.get(path).headers["content-type"]


def test_head_routes_stay_out_of_the_schema(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all("head" not in operations for operations in paths.values())


# ---- row 13: no server paths in responses ---------------------------------------------------------------------

@pytest.mark.parametrize("content", [None, b"not an onnx file"])
def test_a_detector_that_cannot_load_hides_the_server_path(client: Any, tmp_path: Path, content: bytes | None,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "srv-secret" / "yunet.onnx"
    if content is not None:
        secret.parent.mkdir()
        secret.write_bytes(content)
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(secret))
    with caplog.at_level(logging.WARNING, logger="facemotion"):
        body = assert_error(client.post("/v1/predict", params={"detector": "yunet"}, content=png(DARK)), 400,
                            "detector=yunet", "server log")
    assert "srv-secret" not in body["error"] and str(tmp_path) not in body["error"]
    assert any("srv-secret" in record.getMessage() for record in caplog.records)  # the operator sees it


def test_readyz_names_a_failed_model_by_file_name_only(tmp_path: Path) -> None:
    from tests.serving.conftest import TestClient

    missing = tmp_path / "srv-secret" / "missing.onnx"
    with TestClient(create_app(settings=ServeSettings(model=str(missing), detector="none"))) as client:
        for _ in range(500):
            if client.get("/readyz").json().get("error"):
                break
            asyncio.run(asyncio.sleep(0.02))
        body = assert_error(client.get("/readyz"), 503, "missing.onnx")
    assert "srv-secret" not in body["error"]


# ---- row 14: UTF-8 API keys -------------------------------------------------------------------------------------

def test_a_utf8_api_key_works(make_client: Any) -> None:
    key = "clé-ünïcode-鍵"
    with make_client(api_key=key) as client:
        for headers in ({"X-API-Key": key.encode()}, {"Authorization": b"Bearer " + key.encode()}):
            assert client.post("/v1/predict", content=png(DARK), headers=headers).status_code == 200, headers
        assert_error(client.post("/v1/predict", content=png(DARK), headers={"X-API-Key": key.encode("utf-16")}), 401)


def test_keys_are_compared_as_the_bytes_sent() -> None:
    from facemotion.serving.auth import key_matches

    def as_received(raw: bytes) -> str:  # what a header value is in the app: its bytes decoded as latin-1
        return raw.decode("latin-1")

    assert key_matches(as_received("clé".encode()), "clé")
    assert not key_matches(as_received("clé".encode("latin-1")), "clé")  # the same letters, other bytes
    assert key_matches(as_received(b"ascii-key"), "ascii-key") and not key_matches(None, "k")


@pytest.mark.parametrize("key", ["line\nbreak", "tab\there", "nul\x00"])
def test_an_api_key_no_client_could_send_is_refused_at_start(key: str) -> None:
    with pytest.raises(FacemotionError, match="api_key"):
        ServeSettings(api_key=key)


# ---- row 15: redirects never name the Host header -------------------------------------------------------------

@pytest.mark.parametrize(("path", "location"), [("/static", "/static/"), ("/healthz/", "/healthz"),
                                                ("/healthz/?a=1", "/healthz?a=1")])
def test_slash_redirects_are_relative(client: Any, path: str, location: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == location


def test_no_redirect_to_another_host(brightness_onnx: Path) -> None:
    answer = asyncio.run(call(_app(brightness_onnx), whole(b""), method="GET", path="//static", headers={}))
    assert answer.status == 404 and "location" not in answer.headers  # "//static/" would be another host


# ---- row 18: security declared only when a key is set ---------------------------------------------------------

def test_the_schema_declares_security_only_with_a_key(make_client: Any) -> None:
    with make_client() as client:
        schema = client.get("/openapi.json").json()
        assert "securitySchemes" not in schema.get("components", {})
        assert "security" not in schema["paths"]["/v1/predict"]["post"]
    with make_client(api_key="k") as client:
        schema = client.get("/openapi.json").json()
        assert set(schema["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
        assert schema["paths"]["/v1/predict"]["post"]["security"]


# ---- row 17: the header timeout's setting reaches uvicorn ------------------------------------------------------

def test_the_header_timeout_is_a_setting_passed_to_uvicorn() -> None:
    from facemotion.serving.protocol import HeaderTimeoutProtocol, uvicorn_options

    settings = ServeSettings.from_env({"FACEMOTION_HEADER_TIMEOUT": "2.5"})
    protocol = uvicorn_options(settings)["http"]
    assert issubclass(protocol, HeaderTimeoutProtocol) and protocol.header_timeout_s == 2.5
    assert HeaderTimeoutProtocol.header_timeout_s == ServeSettings().header_timeout_s == 10.0
    with pytest.raises(FacemotionError, match="header_timeout_s must be > 0"):
        ServeSettings(header_timeout_s=0)
