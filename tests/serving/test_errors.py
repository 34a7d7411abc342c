"""What an error answer may say: file names only, never a server path; a model failure is not "no heatmaps"."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from facemotion.errors import ModelError
from facemotion.serving.errors import redact_paths
from tests.serving.conftest import png
from tests.serving.test_app import BRIGHT, assert_error


@pytest.mark.parametrize(("message", "expected"), [
    ("/home/John Smith/models/x.onnx", "x.onnx"),
    ("~/secret/y.onnx", "y.onnx"),
    ("models/private/x.onnx", "x.onnx"),
    ("/srv/models/x.onnx: not a readable ONNX file", "x.onnx: not a readable ONNX file"),
    ("cannot read /home/John Smith/m.onnx because it is gone", "cannot read m.onnx because it is gone"),
    ("C:\\Users\\John Smith\\models\\x.onnx: bad", "x.onnx: bad"),
    ("FACEMOTION_YUNET_MODEL=/opt/private/yunet.onnx (no such file)",
     "FACEMOTION_YUNET_MODEL=yunet.onnx (no such file)"),
    ("~user/secret/z.onnx is missing", "z.onnx is missing"),
    ("no path here: pip install 'facemotion[train]'", "no path here: pip install 'facemotion[train]'"),
])
def test_redact_paths_keeps_the_file_name_only(message: str, expected: str) -> None:
    assert redact_paths(message) == expected
    for secret in ("John", "Smith", "secret", "private", "home", "srv", "opt", "Users"):
        if secret in message:
            assert secret not in redact_paths(message)


class BrokenModel:
    def __init__(self, path: str) -> None:
        self.path = path

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        raise ModelError(f"{self.path}: the graph failed to run")


@pytest.mark.parametrize("explain", [None, "false"])
def test_a_model_failure_is_not_answered_as_missing_heatmaps(make_client: Any, explain: str | None,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    secret = "/srv/secret-models/broken.onnx"
    params = {"explain": explain} if explain else {}
    with make_client(classifier=BrokenModel(secret)) as client, caplog.at_level(logging.WARNING, "facemotion"):
        body = assert_error(client.post("/v1/predict", params=params, content=png(BRIGHT)), 500, "model failed")
    assert "heatmap" not in body["error"] and "secret-models" not in body["error"]
    assert any(secret in record.getMessage() for record in caplog.records)  # the operator is told


def test_a_model_without_heatmaps_still_says_so(client: Any) -> None:
    assert_error(client.post("/v1/predict", params={"explain": "true"}, content=png(BRIGHT)), 400,
                 "gives no heatmaps", "facemotion export --model")
