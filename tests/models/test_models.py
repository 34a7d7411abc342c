"""Every registered model, the same checks (timm-style): shape, finite output, a gradient on every parameter."""

from __future__ import annotations

import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models import EmotionNet, count_macs, count_parameters, create_model, list_models


@pytest.mark.parametrize("name", list_models())
def test_forward_and_backward(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    assert isinstance(model, EmotionNet)
    x = torch.rand(3, 1, 48, 48) * 255
    out = model(x)
    assert out.shape == (3, 7) and torch.isfinite(out).all()
    out.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("name", list_models())
def test_per_image_contrast_does_not_change_the_answer(name: str) -> None:
    """Inputs are raw pixels; a contrast-stretched copy of a face must score the same (see shared/README)."""
    model = create_model(name).eval()
    x = torch.rand(2, 1, 48, 48) * 120 + 40
    stretched = (x - x.amin(dim=(1, 2, 3), keepdim=True)) / (x.amax(dim=(1, 2, 3), keepdim=True)
                                                             - x.amin(dim=(1, 2, 3), keepdim=True)) * 255
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(stretched), atol=2e-3, rtol=1e-3)


def test_sizes_match_their_roles() -> None:
    assert count_parameters(create_model("mini_xception")) <= 500_000
    assert count_parameters(create_model("vgg_s")) < count_parameters(create_model("vgg_m")) \
        < count_parameters(create_model("vgg_l"))
    assert count_macs(create_model("vgg_m", width=12)) < count_macs(create_model("vgg_m"))
    seed = create_model("seed_cnn")
    assert not any(isinstance(m, (torch.nn.Dropout, torch.nn.BatchNorm2d)) for m in seed.modules())


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(ModelError, match="did you mean vgg_m"):
        create_model("vgg_mm")
    with pytest.raises(ModelError, match="bad arguments"):
        create_model("vgg_m", colour=3)
