"""The test-time views: a zoom equals the training warp, views come in the graph's order, and the head averages them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facemotion.models import create_model
from facemotion.models.export import ProbabilityHead
from facemotion.models.tta import TTAViews, Zoom, view_count, views_from_metadata, views_metadata, zoom_matrix
from facemotion.training.augment import affine_matrices, warp


def trained_like(name: str) -> torch.nn.Module:
    """A network with non-trivial BatchNorm statistics, so its outputs differ between views as after training."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.05, 0.2)
    return model


def faces(n: int = 4) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).random((n, 1, 48, 48)).astype(np.float32) * 255)


@pytest.mark.parametrize("scale", [1.08, 0.9, 1.3])
def test_a_zoom_is_the_training_warp_at_that_scale(scale: float) -> None:
    x = faces()
    n = x.shape[0]
    want = warp(x, affine_matrices(torch.zeros(n), torch.full((n,), scale), torch.zeros(n), torch.zeros(n)))
    np.testing.assert_allclose(Zoom(scale)(x).numpy(), want.numpy(), atol=1e-3)
    assert not np.allclose(Zoom(scale)(x).numpy(), x.numpy(), atol=1.0)  # it does move the pixels


def test_zoom_one_is_the_identity_and_rows_sum_to_one() -> None:
    np.testing.assert_allclose(zoom_matrix(48, 1.0), np.eye(48), atol=1e-6)
    np.testing.assert_allclose(zoom_matrix(48, 0.8).sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        zoom_matrix(48, 0.0)
    for zooms in ([1.0], [1.1, 1.1], [1.005], [1.08, 1.0801], [0.9, 1.1, 1.0999]):
        with pytest.raises(ValueError, match="differ from 1 .* and from each other"):
            TTAViews(zooms=zooms)
    for zooms in ([float("nan")], [1.1, float("nan"), 1.1], [0.0], [-1.1], [float("inf")]):
        with pytest.raises(ValueError, match="positive finite"):
            TTAViews(zooms=zooms)
    TTAViews(zooms=[1.12, 1.13, 0.56, 0.57, 1.87, 1.88])  # exactly 0.01 apart, though not in floating point


def test_views_come_plain_then_mirrored_per_zoom() -> None:
    x = faces(2)
    views = TTAViews(flip=True, zooms=[1.1])(x)
    assert len(views) == view_count(True, [1.1]) == 4
    zoomed = Zoom(1.1)(x)
    for got, want in zip(views, [x, x.flip(3), zoomed, zoomed.flip(3)]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)
    assert len(TTAViews()(x)) == view_count(False, []) == 1


def test_the_head_averages_the_softmax_of_every_view() -> None:
    model = trained_like("vgg_xs")
    x = faces(3)
    with torch.no_grad():
        got = ProbabilityHead(model, temperature=1.5, flip_tta=True, zooms=[1.08, 0.95])(x)
        views = TTAViews(flip=True, zooms=[1.08, 0.95])(x)
        want = torch.stack([torch.softmax(model(v) / 1.5, dim=1) for v in views]).mean(dim=0)
        flip_only = ProbabilityHead(model, temperature=1.5, flip_tta=True)(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    assert np.abs(got.numpy() - flip_only.numpy()).max() > 1e-4  # the zooms count


def test_zoomed_views_add_to_probabilities_not_to_the_heatmaps() -> None:
    model = trained_like("vgg_xs")
    x = faces(2)
    with torch.no_grad():
        probs, maps = ProbabilityHead(model, flip_tta=True, zooms=[1.1], heatmaps=True)(x)
        _, flip_maps = ProbabilityHead(model, flip_tta=True, heatmaps=True)(x)
        plain = ProbabilityHead(model, flip_tta=True, zooms=[1.1])(x)
    np.testing.assert_allclose(probs.numpy(), plain.numpy(), atol=1e-6)
    np.testing.assert_allclose(maps.numpy(), flip_maps.numpy(), atol=1e-6)


def test_calibration_logits_are_the_graphs_views_batch_by_batch() -> None:
    from facemotion.training.export_model import view_logits

    model = trained_like("vgg_xs")
    images = np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    got = view_logits(model, images, True, [1.1], batch_size=2)
    with torch.no_grad():
        want = [model(v).numpy() for v in TTAViews(flip=True, zooms=[1.1])(torch.from_numpy(images[:, None]).float())]
    assert len(got) == 4
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-4)
    assert [v.shape for v in view_logits(model, images[:0], False, [1.1])] == [(0, 7), (0, 7)]


def test_views_metadata_reads_back_what_it_writes() -> None:
    for flip, zooms in ((False, []), (True, [1.08]), (True, [0.9, 1.1])):
        assert views_from_metadata(views_metadata(flip, zooms)) == (flip, zooms)
    assert views_from_metadata({}) == (False, [])  # graphs from before views were recorded
