"""Class activation maps: exact for every pooled-head model, averaged across an ensemble, exported to ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models import LogitEnsemble, create_model, list_models
from facemotion.models.cam import class_activation_maps, logits_and_maps, supports_cam
from facemotion.models.export import HEATMAP_NAME, ProbabilityHead, to_onnx

SMALL = {"vgg_xs": {}, "mini_xception": {}, "vgg_s": {"width": 4}}


def pixels(n: int = 2) -> torch.Tensor:
    return torch.rand(n, 1, 48, 48, generator=torch.Generator().manual_seed(0)) * 255


@pytest.mark.parametrize("name", [n for n in list_models() if n != "seed_cnn"])
def test_map_means_are_the_logits(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, **({"width": 4} if name.startswith("vgg") else {})).eval()
    assert supports_cam(model)
    with torch.no_grad():
        logits, maps = logits_and_maps(model, pixels())
        torch.testing.assert_close(logits, model(pixels()))
    assert maps.shape[:2] == (2, 7) and maps.shape[2] == maps.shape[3]
    torch.testing.assert_close(maps.mean(dim=(2, 3)), logits, atol=1e-4, rtol=1e-4)


def test_an_ensemble_averages_its_members_maps() -> None:
    torch.manual_seed(0)
    members = [create_model("vgg_xs").eval(), create_model("mini_xception").eval()]  # 6x6 and 3x3 grids
    ensemble = LogitEnsemble(members).eval()
    with torch.no_grad():
        maps = class_activation_maps(ensemble, pixels())
        assert maps.shape == (2, 7, 6, 6)
        torch.testing.assert_close(maps.mean(dim=(2, 3)), ensemble(pixels()), atol=1e-4, rtol=1e-4)


def test_a_model_without_a_pooled_head_has_no_maps(tmp_path: Path) -> None:
    model = create_model("seed_cnn").eval()
    assert not supports_cam(model)
    with pytest.raises(ModelError, match="no pooled linear head"):
        class_activation_maps(model, pixels())
    path = to_onnx(model, tmp_path / "seed.onnx")  # exported as before, without the output
    assert [o.name for o in ort.InferenceSession(str(path)).get_outputs()] == ["probabilities"]


@pytest.mark.parametrize(("flip_tta", "zooms"), [(False, []), (True, []), (True, [1.1]), (False, [0.9, 1.1])])
def test_the_exported_heatmaps_match_torch(tmp_path: Path, flip_tta: bool, zooms: list[float]) -> None:
    torch.manual_seed(0)
    model = create_model("vgg_xs").eval()
    path = to_onnx(model, tmp_path / "m.onnx", temperature=1.3, flip_tta=flip_tta, zooms=zooms)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["probabilities", HEATMAP_NAME]
    x = pixels(3)
    probs, maps = session.run(None, {"pixels": x.numpy()})
    with torch.no_grad():
        want_probs, want_maps = ProbabilityHead(model, temperature=1.3, flip_tta=flip_tta, zooms=zooms,
                                                heatmaps=True)(x)
        plain = ProbabilityHead(model, temperature=1.3, flip_tta=flip_tta, zooms=zooms)(x)
    np.testing.assert_allclose(probs, want_probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(probs, plain.numpy(), atol=1e-5)  # same probabilities as without heatmaps
    np.testing.assert_allclose(maps, want_maps.numpy(), atol=1e-4)
    only = session.run(["probabilities"], {"pixels": x.numpy()})
    assert len(only) == 1
