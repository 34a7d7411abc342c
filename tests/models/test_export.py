from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from facemotion.models import create_model
from facemotion.models.export import ProbabilityHead, to_onnx


@pytest.mark.parametrize(("flip_tta", "temperature", "zooms"), [(False, 1.0, []), (True, 1.7, []), (True, 1.2, [1.08])])
def test_onnx_matches_torch(tmp_path: Path, flip_tta: bool, temperature: float, zooms: list[float]) -> None:
    torch.manual_seed(0)
    model = create_model("vgg_s").eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    path = to_onnx(model, tmp_path / "m.onnx", temperature=temperature, flip_tta=flip_tta, zooms=zooms)
    x = (np.random.default_rng(0).random((5, 1, 48, 48)) * 255).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixels": x})[0]
    with torch.no_grad():
        want = ProbabilityHead(model, temperature=temperature, flip_tta=flip_tta,
                               zooms=zooms)(torch.from_numpy(x)).numpy()
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(got - want).max() < 1e-4
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["flip_tta"] == str(flip_tta).lower() and float(meta["temperature"]) == temperature
    assert json.loads(meta["tta_zooms"]) == zooms


def test_dynamic_batch(tmp_path: Path) -> None:
    path = to_onnx(create_model("mini_xception"), tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 3, 64):
        assert session.run(None, {"pixels": np.zeros((n, 1, 48, 48), np.float32)})[0].shape == (n, 7)
