"""``POST /v1/predict?explain=...``: heatmaps in the JSON, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facemotion.inference.backends import OnnxClassifier
from facemotion.labels import EMOTIONS
from facemotion.serving.schemas import PredictResponse
from tests.serving.conftest import png
from tests.serving.test_app import BRIGHT, assert_error


@pytest.mark.parametrize(("explain", "labels"),
                         [("true", None), ("all", list(EMOTIONS)), ("sad,happy", ["sad", "happy"])])
def test_explain_returns_heatmaps(make_client: Any, explaining_onnx: Path, explain: str, labels: list | None) -> None:
    with make_client(classifier=OnnxClassifier(explaining_onnx)) as client:
        body = client.post("/v1/predict", params={"explain": explain}, content=png(BRIGHT)).json()
        PredictResponse.model_validate(body)
        face = body["faces"][0]
        assert list(face["heatmap"]["maps"]) == (labels or [face["emotion"]])
        assert face["heatmap"]["size"] == [6, 6]
        assert np.allclose(face["heatmap"]["matrix"], [[64 / 6, 0, 0], [0, 64 / 6, 0]], atol=1e-3)
        plain = client.post("/v1/predict", params={"explain": "false"}, content=png(BRIGHT)).json()["faces"][0]
        assert "heatmap" not in plain


def test_explain_refusals(client: Any) -> None:
    assert_error(client.post("/v1/predict", params={"explain": "happy,joy"}, content=png(BRIGHT)), 400,
                 "unknown label", "joy")
    assert_error(client.post("/v1/predict", params={"explain": "true"}, content=png(BRIGHT)), 400,
                 "exported before they existed", "facemotion export --model")
