from __future__ import annotations

import csv
import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from facemotion.inference.backends import load_classifier
from facemotion.training import TrainConfig, fit, resume
from facemotion.training.augment import affine_matrices
from facemotion.training.fit import resume_config
from facemotion.training.loop import augment_batch
from facemotion.training.teacher_views import (
    VIEWS_FILE,
    TeacherViews,
    draw_views,
    load_or_score_views,
    render_views,
    score_views,
)
from tests.conftest import default_usages, synthetic_images, write_fer_csv

_SETTINGS = {"rotate": 15.0, "scale": 0.15, "shift": 0.1, "flip": True, "seed": 3}


def test_views_are_drawn_from_the_seed_alone() -> None:
    settings = {k: v for k, v in _SETTINGS.items() if k != "seed"}
    matrices, flips = draw_views(50, 4, seed=3, **settings)
    again, flips_again = draw_views(50, 4, seed=3, **settings)
    other, _ = draw_views(50, 4, seed=4, **settings)
    assert matrices.shape == (50, 4, 2, 3) and flips.shape == (50, 4) and flips.dtype == torch.bool
    assert torch.equal(matrices, again) and torch.equal(flips, flips_again)
    assert not torch.equal(matrices, other)
    assert 0.2 < flips.float().mean() < 0.8
    assert not draw_views(50, 4, seed=3, **{**settings, "flip": False})[1].any()


def test_an_identity_view_is_the_image_and_a_flipped_one_its_mirror() -> None:
    x = torch.rand(2, 1, 48, 48) * 255
    one, zero = torch.ones(2), torch.zeros(2)
    identity = affine_matrices(zero, one, zero, zero)
    out = render_views(x, identity, torch.tensor([False, True]))
    assert torch.allclose(out[0], x[0], atol=1e-3)
    assert torch.allclose(out[1], x[1].flip(-1), atol=1e-3)


def test_each_view_is_scored_as_the_teacher_sees_it() -> None:
    images, _ = synthetic_images(5)
    matrices, flips = draw_views(5, 3, seed=0, rotate=15.0, scale=0.15, shift=0.1, flip=True)
    probs = score_views("fast", images, matrices, flips, batch_size=4)
    assert probs.shape == (5, 3, 7) and probs.dtype == np.float32
    rendered = render_views(torch.from_numpy(images[:, None]).float(), matrices[:, 1], flips[:, 1])
    crops = rendered.round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()
    np.testing.assert_allclose(probs[:, 1], load_classifier("fast").predict_proba(crops), atol=1e-6)
    assert not np.allclose(probs[:, 0], probs[:, 1])  # the views differ, so do the answers


def test_a_batch_gets_the_probabilities_of_the_views_it_was_shown() -> None:
    """Two views per image, the identity and its mirror; each image's 'teacher' names the image and the view."""
    n, batch = 64, 40
    one, zero = torch.ones(n * 2), torch.zeros(n * 2)
    matrices = affine_matrices(zero, one, zero, zero).reshape(n, 2, 2, 3)
    flips = torch.tensor([[False, True]]).repeat(n, 1)
    probabilities = torch.zeros(n, 2, 7)
    probabilities[:, 0, 0] = probabilities[:, 1, 1] = torch.arange(n, dtype=torch.float32)  # image i, view v
    views = TeacherViews(matrices, flips, probabilities)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(1))[:batch]
    x = torch.rand(batch, 1, 48, 48) * 255
    out, soft = views.apply(x, idx, torch.Generator().manual_seed(0))
    mirrored = soft[:, 1] > 0
    assert torch.equal(soft.sum(1), idx.float())  # each row is its own image's
    assert 0 < int(mirrored.sum()) < batch
    assert torch.allclose(out[mirrored], x[mirrored].flip(-1), atol=1e-3)
    assert torch.allclose(out[~mirrored], x[~mirrored], atol=1e-3)


def test_a_batch_seen_through_views_gets_no_second_geometry() -> None:
    cfg = TrainConfig(data="d", out="o", erase=0.0)
    x = torch.rand(8, 1, 48, 48) * 255
    targets = torch.eye(7)[torch.arange(8) % 7]
    same, _ = augment_batch(x, targets, torch.Generator().manual_seed(0), cfg, geometry=False)
    moved, _ = augment_batch(x, targets, torch.Generator().manual_seed(0), cfg)
    assert torch.equal(same, x) and not torch.allclose(moved, x)


def test_the_bank_is_cached_and_rebuilt_when_its_inputs_change(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    images, _ = synthetic_images(6)
    cache = tmp_path / VIEWS_FILE
    first = load_or_score_views("fast", "sha-a", images, 2, cache=cache, **_SETTINGS)
    assert cache.is_file()
    module = importlib.import_module("facemotion.training.teacher_views")
    calls = []
    monkeypatch.setattr(module, "score_views", lambda *a, **k: calls.append(1) or np.zeros((6, 2, 7), np.float32))
    cached = load_or_score_views("fast", "sha-a", images, 2, cache=cache, **_SETTINGS)
    assert not calls and torch.equal(cached.probabilities, first.probabilities)
    assert torch.equal(cached.matrices, first.matrices)
    load_or_score_views("fast", "sha-b", images, 2, cache=cache, **_SETTINGS)  # another teacher file
    load_or_score_views("fast", "sha-b", images, 2, cache=cache, **{**_SETTINGS, "rotate": 5.0})
    load_or_score_views("fast", "sha-b", images[::-1].copy(), 2, cache=cache, **{**_SETTINGS, "rotate": 5.0})
    assert len(calls) == 3
    good = cache.read_bytes()
    for damaged in (b"not an npz", b"", good[:len(good) // 2]):
        cache.write_bytes(damaged)
        load_or_score_views("fast", "sha-b", images, 2, cache=cache, **_SETTINGS)
    assert len(calls) == 6
    np.save(cache.with_suffix(".npy"), np.zeros(3))  # an array where the bank should be
    cache.with_suffix(".npy").replace(cache)
    load_or_score_views("fast", "sha-a", images, 2, cache=cache, **_SETTINGS)
    assert len(calls) == 7


def test_teacher_views_need_a_teacher() -> None:
    with pytest.raises(ValueError, match="teacher_views"):
        TrainConfig(data="d", out="o", teacher_views=4)
    with pytest.raises(ValueError, match="teacher_views"):
        TrainConfig(data="d", out="o", teacher="fast", teacher_views=-1)


def test_the_student_learns_what_the_teacher_says_of_its_views(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A teacher one class off on every view, at full weight: the student follows it; resuming reads the bank."""
    n = 700
    images, labels = synthetic_images(n)
    n_val = n // 7
    n_train = n - 2 * n_val
    data = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(n_train, n_val, n_val))
    shifted = np.eye(7, dtype=np.float32)[(labels[:n_train] + 1) % 7]
    module = importlib.import_module("facemotion.training.teacher_views")
    fit_module = importlib.import_module("facemotion.training.fit")  # the module; the package exports the function
    monkeypatch.setattr(module, "score_views",
                        lambda teacher, imgs, m, f, labels: np.repeat(shifted[:, None], 2, axis=1))
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="vgg_s", model_kwargs={"width": 8}, epochs=4,
                      batch_size=32, lr=0.05, threads=1, teacher="fast", distill=1.0, teacher_views=2,
                      label_smoothing=0.0)
    run = fit(cfg)
    with open(run / "metrics.csv", newline="") as handle:
        val_acc = [float(r["val_acc"]) for r in csv.DictReader(handle)]
    assert val_acc[-1] < 0.1  # chance is 1/7; without the teacher this recipe passes 0.5 (test_fit)
    assert (run / VIEWS_FILE).is_file()

    monkeypatch.setattr(module, "score_views", lambda *a, **k: pytest.fail("a resumed run scores its views again"))
    monkeypatch.setattr(fit_module, "load_or_score_probabilities",
                        lambda *a, **k: pytest.fail("the views were dropped"))
    state = torch.load(run / "last.pt", weights_only=False)
    state["epoch"] = 3
    torch.save(state, run / "last.pt")
    assert resume_config(run).teacher_views == 2
    resume(run)
