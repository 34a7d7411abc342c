from __future__ import annotations

import pytest
import torch

from facemotion.training import augment


def _batch() -> torch.Tensor:
    return torch.rand(8, 1, 48, 48, generator=torch.Generator().manual_seed(1)) * 255


def test_zero_affine_is_identity() -> None:
    x = _batch()
    matrices = augment.affine_matrices(torch.zeros(8), torch.ones(8), torch.zeros(8), torch.zeros(8))
    torch.testing.assert_close(augment.warp(x, matrices), x, atol=1e-3, rtol=0)


def test_shift_moves_the_image() -> None:
    x = torch.zeros(1, 1, 48, 48)
    x[0, 0, 20:28, 20:28] = 255
    shifted = augment.warp(x, augment.affine_matrices(torch.zeros(1), torch.ones(1), torch.tensor([-0.125]),
                                                      torch.zeros(1)))
    assert shifted[0, 0, 24, 30] > 200 and shifted[0, 0, 24, 21] < 50


@pytest.mark.parametrize("op", ["affine", "flip", "erase"])
def test_same_generator_same_result_and_shape(op: str) -> None:
    x = _batch()

    def run(seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        if op == "affine":
            return augment.random_affine(x, gen, rotate=15, scale=0.1, shift=0.1)
        if op == "flip":
            return augment.random_hflip(x, gen)
        return augment.random_erase(x, gen, p=1.0)

    a, b, c = run(0), run(0), run(1)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 255


def test_flip_mirrors_exactly_the_chosen_images() -> None:
    x = _batch()
    out = augment.random_hflip(x, torch.Generator().manual_seed(0), p=0.5)
    for i in range(8):
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(-1))


def test_mixup_and_cutmix_keep_targets_distributions() -> None:
    x = _batch()
    targets = augment.one_hot(torch.arange(8) % 7, 7)
    for fn in (augment.mixup, augment.cutmix):
        mixed, mixed_targets = fn(x, targets, torch.Generator().manual_seed(0), 1.0)
        assert mixed.shape == x.shape
        torch.testing.assert_close(mixed_targets.sum(1), torch.ones(8))
