from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from facemotion.errors import FacemotionError
from facemotion.inference.backends import load_classifier
from facemotion.labels import EMOTIONS
from facemotion.training import TrainConfig, fit, resume
from facemotion.training.distill import (
    PROBABILITIES_FILE,
    blend_targets,
    load_or_score_probabilities,
    teacher_probabilities,
)
from tests.conftest import default_usages, synthetic_images, write_brightness_classifier, write_fer_csv


def test_blend_targets() -> None:
    labels = torch.eye(7)[[0, 3]]
    teacher = torch.full((2, 7), 1 / 7)
    assert torch.equal(blend_targets(labels, None, 0.5), labels)
    assert torch.allclose(blend_targets(labels, teacher, 0.25), 0.75 * labels + 0.25 / 7)
    assert torch.allclose(blend_targets(labels, teacher, 0.25).sum(1), torch.ones(2))


def test_teacher_probabilities_are_the_models_in_batches() -> None:
    images, _ = synthetic_images(11)
    probs = teacher_probabilities("fast", images, batch_size=4)
    assert probs.shape == (11, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, load_classifier("fast").predict_proba(images), atol=1e-6)


def test_a_teacher_of_the_same_classes_in_another_order_is_reordered_and_of_others_refused(tmp_path: Path) -> None:
    teacher = str(write_brightness_classifier(tmp_path / "t.onnx", labels=("calm", "tense", "glad")))
    images = np.stack([np.full((48, 48), 10, np.uint8), np.full((48, 48), 250, np.uint8)])
    own = teacher_probabilities(teacher, images, labels=("calm", "tense", "glad"))
    assert own.argmax(1).tolist() == [0, 2]  # dark -> calm, bright -> glad
    sorted_order = teacher_probabilities(teacher, images, labels=("calm", "glad", "tense"))
    np.testing.assert_array_equal(sorted_order, own[:, [0, 2, 1]])
    with pytest.raises(FacemotionError, match=r"--teacher .*t.onnx: its labels \(calm, tense, glad\) are not the "
                                              r"run's \(angry, disgust"):
        teacher_probabilities(teacher, images)


@pytest.mark.parametrize("views", [0, 2])
def test_a_run_refuses_a_teacher_of_other_classes_before_scoring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 views: int) -> None:
    """Checked in fit itself, so that a saved view bank, which skips scoring, cannot skip the check either."""
    teacher = str(write_brightness_classifier(tmp_path / "t.onnx", labels=("calm", "tense", "glad")))
    images, labels = synthetic_images(140)
    data = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(100, 20, 20))
    fit_module = importlib.import_module("facemotion.training.fit")  # as a saved bank would: no scoring at all
    monkeypatch.setattr(fit_module, "load_or_score_views", lambda *a, **k: pytest.fail("the bank was used"))
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="vgg_s", model_kwargs={"width": 8}, epochs=1,
                      batch_size=32, threads=1, teacher=teacher, teacher_views=views)
    with pytest.raises(FacemotionError, match="its labels \\(calm, tense, glad\\) are not the run's"):
        fit(cfg)


def test_distill_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="distill"):
        TrainConfig(data="d", out="o", distill=1.5)


def test_the_student_learns_what_the_teacher_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A teacher that is always one class off, at full weight: the student follows it, not the labels."""
    n = 700
    images, labels = synthetic_images(n)
    n_val = n // 7
    data = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(n - 2 * n_val, n_val, n_val))
    shifted = np.eye(7, dtype=np.float32)[(labels[:n - 2 * n_val] + 1) % 7]
    distill_module = importlib.import_module("facemotion.training.distill")
    monkeypatch.setattr(distill_module, "teacher_probabilities", lambda teacher, imgs, labels: shifted[:len(imgs)])
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="vgg_s", model_kwargs={"width": 8}, epochs=4,
                      batch_size=32, lr=0.05, threads=1, teacher="fast", distill=1.0, label_smoothing=0.0)
    run = fit(cfg)
    with open(run / "metrics.csv", newline="") as handle:
        val_acc = [float(r["val_acc"]) for r in csv.DictReader(handle)]
    assert val_acc[-1] < 0.1  # chance is 1/7; without the teacher this recipe passes 0.5 (test_fit)
    assert (run / PROBABILITIES_FILE).is_file()

    monkeypatch.setattr(distill_module, "teacher_probabilities", lambda *a, **k: pytest.fail("scored again"))
    state = torch.load(run / "last.pt", weights_only=False)
    state["epoch"] = 3
    torch.save(state, run / "last.pt")
    resume(run)  # the fourth epoch again, from the cached scores
    assert json.loads((run / "config.json").read_text())["teacher"]["name"] == "fast"


def test_resume_refuses_a_teacher_that_changed(tmp_path: Path) -> None:
    images, labels = synthetic_images(140)
    data = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(100, 20, 20))
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="vgg_s", model_kwargs={"width": 8}, epochs=1,
                      batch_size=32, threads=1, teacher="fast")
    run = fit(cfg)
    config_file = run / "config.json"
    payload = json.loads(config_file.read_text())
    assert payload["teacher"]["path"].endswith("fast.onnx")
    payload["teacher"]["sha256_16"] = "0" * 16  # as if the packaged model had been replaced since
    config_file.write_text(json.dumps(payload))
    with pytest.raises(FacemotionError, match="teacher 'fast' is now"):
        resume(cfg.out)


@pytest.mark.parametrize("views", [0, 2])
def test_a_run_loads_its_teacher_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, views: int) -> None:
    """Checking the teacher's labels and scoring the images share one loaded model (an ensemble loads in seconds)."""
    images, labels = synthetic_images(140)
    data = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(100, 20, 20))
    distill_module = importlib.import_module("facemotion.training.distill")
    loads: list[str] = []
    monkeypatch.setattr(distill_module, "load_classifier", lambda name: loads.append(name) or load_classifier(name))
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="vgg_s", model_kwargs={"width": 8}, epochs=1,
                      batch_size=32, threads=1, teacher="fast", teacher_views=views)
    fit(cfg)
    assert loads == ["fast"]


def test_cached_probabilities_are_reused_only_for_the_same_teacher_images_and_labels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images, _ = synthetic_images(9)
    cache = tmp_path / PROBABILITIES_FILE
    first = load_or_score_probabilities("fast", "sha-a", images, cache=cache)
    np.testing.assert_allclose(first, teacher_probabilities("fast", images), atol=1e-6)
    distill_module = importlib.import_module("facemotion.training.distill")
    calls: list[int] = []
    monkeypatch.setattr(distill_module, "teacher_probabilities",
                        lambda teacher, imgs, labels: calls.append(1) or np.full((len(imgs), len(labels)), 0.5,
                                                                                  np.float32))
    np.testing.assert_array_equal(load_or_score_probabilities("fast", "sha-a", images, cache=cache), first)
    assert calls == []
    load_or_score_probabilities("fast", "sha-b", images, cache=cache)  # another teacher file: scored and rewritten
    load_or_score_probabilities("fast", "sha-b", images[::-1].copy(), cache=cache)  # other images
    load_or_score_probabilities("fast", "sha-b", images[::-1].copy(), cache=cache, labels=EMOTIONS[::-1])
    assert calls == [1, 1, 1]
    cache.write_bytes(b"not an npz")  # a damaged file is scored again, not trusted
    assert load_or_score_probabilities("fast", "sha-a", images, cache=cache).shape == (9, 7) and calls == [1] * 4
    load_or_score_probabilities("fast", "sha-c", images, cache=cache, write=False)  # a DDP rank other than the main
    assert load_or_score_probabilities("fast", "sha-a", images, cache=cache)[0, 0] == 0.5 and calls == [1] * 5
