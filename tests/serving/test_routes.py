"""The service's layout: routes take their state through the dependencies of ``serving.deps``, so a test swaps one
with ``app.dependency_overrides``; the choice lists and the error type each have one home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facemotion.serving import deps
from facemotion.serving.limits import WorkLimiter
from facemotion.serving.recognizers import Recognizers
from tests.serving.conftest import png, settings_for

DARK = np.full((64, 64), 20, np.uint8)


def test_an_overridden_saturated_limiter_refuses_before_the_upload_is_read(make_client: Any) -> None:
    full = WorkLimiter(workers=1, max_queue=0, name="test-full")
    slot = full.admit()
    try:
        with make_client(retry_after_s=3) as client:
            client.app.dependency_overrides[deps.get_limiter] = lambda: full
            response = client.post("/v1/predict", content=png(DARK))
            assert response.status_code == 503 and "busy: 1 requests are in flight" in response.json()["error"]
            assert response.headers["retry-after"] == "3"
            assert client.app.state.uploads.held == 0  # refused before a byte was taken
            assert client.get("/readyz").json()["in_flight"] == 1  # readyz reads the same (overridden) limiter
            client.app.dependency_overrides.clear()
            assert client.post("/v1/predict", content=png(DARK)).status_code == 200
    finally:
        slot.release()
        full.shutdown()


def test_an_overridden_loading_recognizers_is_503_on_readyz_and_predict(make_client: Any,
                                                                        brightness_onnx: Path) -> None:
    loading = Recognizers(settings_for(brightness_onnx))  # nothing loaded: what a server sees while starting
    loading.error = "the model is still loading (test)"
    with make_client() as client:
        client.app.dependency_overrides[deps.get_recognizers] = lambda: loading
        for response in (client.get("/readyz"), client.post("/v1/predict", content=png(DARK))):
            assert response.status_code == 503 and response.json() == {"error": "the model is still loading (test)"}
            assert response.headers["retry-after"] == "1"
        assert client.get("/healthz").status_code == 200


def test_the_choice_lists_are_those_of_inference_and_faces(client: Any) -> None:
    from facemotion.faces.detect import DETECTORS
    from facemotion.inference.weights import PACKAGED_MODELS

    parameters = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"][
        "parameters"]}

    def enum(name: str) -> list[str]:
        schema = parameters[name]["schema"]
        return next(s["enum"] for s in schema.get("anyOf", [schema]) if "enum" in s)

    assert enum("model") == list(PACKAGED_MODELS)
    assert enum("detector") == list(DETECTORS)


def test_the_page_offers_every_packaged_model_and_detector(client: Any) -> None:
    import re

    from facemotion.faces.detect import DETECTORS
    from facemotion.inference.weights import PACKAGED_MODELS

    html = client.get("/").text

    def options(select: str) -> list[str]:
        block = re.search(rf'<select id="{select}">(.*?)</select>', html, re.S)
        assert block, select
        return [v for v in re.findall(r'<option value="([^"]*)"', block.group(1)) if v]

    assert options("model") == list(PACKAGED_MODELS)
    assert options("detector") == list(DETECTORS)


def test_service_errors_live_in_the_errors_module() -> None:
    from facemotion.serving import errors, uploads

    assert "ServiceError" in errors.__all__ and "ClientGone" in errors.__all__
    assert "ServiceError" not in uploads.__all__
    assert uploads.ServiceError is errors.ServiceError  # uploads raises the one type
