"""Rebuilding torch models from exported graphs (BatchNorm folded away), and re-exporting them with heatmaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models import LogitEnsemble, create_model
from facemotion.models.export import to_onnx
from facemotion.models.from_onnx import model_from_onnx, reexport_onnx


def trained_like(name: str, seed: int = 0, **kwargs: object) -> torch.nn.Module:
    """A model with non-trivial BatchNorm statistics and affine parameters, as after training."""
    torch.manual_seed(seed)
    model = create_model(name, **kwargs).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def probabilities(path: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["probabilities"], {"pixels": x})[0]


def crops() -> np.ndarray:
    return (np.random.default_rng(0).random((6, 1, 48, 48)) * 255).astype(np.float32)


@pytest.mark.parametrize(("name", "kwargs"), [("vgg_xs", {}), ("mini_xception", {}), ("vgg_s", {"width": 4})])
def test_a_graph_rebuilds_its_model(tmp_path: Path, name: str, kwargs: dict) -> None:
    model = trained_like(name, **kwargs)
    path = to_onnx(model, tmp_path / "m.onnx", heatmaps=False,
                   metadata={"architecture": name})
    (tmp_path / "m.json").write_text(json.dumps({"architecture": name, "architecture_kwargs": kwargs}))
    rebuilt, metadata, card = model_from_onnx(path)
    assert metadata["architecture"] == name and card["architecture_kwargs"] == kwargs
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def test_an_ensemble_is_rebuilt_from_its_card(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_xs", 2)]).eval()
    path = to_onnx(model, tmp_path / "e.onnx", flip_tta=True, metadata={"architecture": "ensemble"})
    with pytest.raises(ModelError, match="members listed in its model card"):
        model_from_onnx(path)
    (tmp_path / "e.json").write_text(json.dumps({"members": [{"architecture": "vgg_xs"}] * 2}))
    rebuilt, _, _ = model_from_onnx(path)
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def test_reexport_keeps_metadata_card_and_probabilities(tmp_path: Path) -> None:
    old = to_onnx(trained_like("vgg_xs"), tmp_path / "old.onnx", temperature=0.9, heatmaps=False,
                  metadata={"name": "old", "architecture": "vgg_xs"})
    card = b'{"architecture": "vgg_xs", "note": "kept byte for byte"}\n'
    (tmp_path / "old.json").write_bytes(card)
    new = reexport_onnx(old, tmp_path / "out" / "new.onnx")
    before, after = onnx.load(str(old)), onnx.load(str(new))
    assert [(p.key, p.value) for p in after.metadata_props] == [(p.key, p.value) for p in before.metadata_props]
    assert (tmp_path / "out" / "new.json").read_bytes() == card
    assert [o.name for o in after.graph.output] == ["probabilities", "heatmaps"]
    np.testing.assert_allclose(probabilities(new, crops()), probabilities(old, crops()), atol=1e-5)


def test_a_graph_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = to_onnx(trained_like("vgg_xs"), tmp_path / "m.onnx", metadata={"architecture": "mini_xception"})
    with pytest.raises(ModelError, match="layer|Conv/Gemm"):
        model_from_onnx(path)
    bare = to_onnx(trained_like("vgg_xs"), tmp_path / "bare.onnx")
    with pytest.raises(ModelError, match="names no architecture"):
        model_from_onnx(bare)
