"""Offline knowledge distillation: a finished model's probabilities on the training images, as soft targets.

The teacher (``default``, ``fast``, an ``.onnx`` or a ``.pt`` file) scores every un-augmented training image once, at
the start of the run; each step then blends those probabilities into its targets before augmentation. Scoring once
costs seconds where scoring every augmented batch would cost the teacher's forward pass on every step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from facemotion.errors import FacemotionError
from facemotion.inference.backends import classifier_labels, load_classifier
from facemotion.inference.weights import resolve_model
from facemotion.labels import EMOTIONS, IMAGE_SIZE
from facemotion.paths import sha256_of
from facemotion.training.teacher_cache import cache_key, read_cached, write_cached

__all__ = ["TeacherLike", "teacher_probabilities", "teacher_predictor", "as_predictor", "teacher_description",
           "load_or_score_probabilities", "blend_targets", "PROBABILITIES_FILE"]

logger = logging.getLogger(__name__)

PROBABILITIES_FILE = "teacher_probabilities.npz"
"""The teacher's cached scores, in the run folder (ignored by git: rebuilt exactly when missing)."""

_FORMAT = 1
"""Bumped whenever scoring the training images changes, so older caches are scored again."""

TeacherLike = Union[str, Callable[[np.ndarray], np.ndarray]]
"""A teacher by name or path, or the predictor :func:`teacher_predictor` made of one (loaded once per run)."""


def teacher_predictor(teacher: str, labels: Sequence[str] = EMOTIONS) -> Callable[[np.ndarray], np.ndarray]:
    """The teacher's ``predict_proba``, its columns in the run's ``labels`` order: the same names in another order
    are reordered (your data's emotions, sorted, taught by ``default``); other names are refused before any image
    is scored, since their probabilities would teach the wrong classes, or not fit them."""
    classifier = load_classifier(teacher)
    own = classifier_labels(classifier)
    if own == tuple(labels):
        return classifier.predict_proba
    if sorted(own) != sorted(labels):
        raise FacemotionError(f"--teacher {teacher}: its labels ({', '.join(own)}) are not the run's "
                              f"({', '.join(labels)}); a teacher must know the same classes")
    order = [own.index(name) for name in labels]
    return lambda crops: classifier.predict_proba(crops)[:, order]


def as_predictor(teacher: TeacherLike, labels: Sequence[str] = EMOTIONS) -> Callable[[np.ndarray], np.ndarray]:
    """``teacher`` itself when it is already a predictor (built for ``labels``: its columns are taken as theirs),
    else :func:`teacher_predictor` of it."""
    return teacher if callable(teacher) else teacher_predictor(teacher, labels)


def teacher_probabilities(teacher: TeacherLike, images: np.ndarray, *, labels: Sequence[str] = EMOTIONS,
                          batch_size: int = 1024) -> np.ndarray:
    """``(N, K)`` float32 probabilities of ``teacher`` for ``(N, 48, 48)`` (or ``(N, 1, 48, 48)``) uint8 images, in
    the order of ``labels`` (see :func:`teacher_predictor`)."""
    predict = as_predictor(teacher, labels)
    crops = np.asarray(images).reshape(len(images), IMAGE_SIZE, IMAGE_SIZE)
    parts = [predict(crops[i:i + batch_size]) for i in range(0, len(crops), batch_size)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, len(labels)), np.float32)


def load_or_score_probabilities(teacher: TeacherLike, teacher_sha: str, images: np.ndarray, *,
                                labels: Sequence[str] = EMOTIONS, cache: Path | None = None,
                                write: bool = True) -> np.ndarray:
    """:func:`teacher_probabilities`, read from ``cache`` when it holds the scores of the same teacher file, images
    and labels, else scored and (when ``cache`` is given and ``write``) written there atomically: a resumed run
    skips scoring, which costs minutes for an ensemble. Under DDP every rank reads it and only the main one writes."""
    key = cache_key(teacher_sha, images, format=_FORMAT, kind="probabilities", labels=list(labels))
    stored = read_cached(cache, key, {"probabilities": ((len(images), len(labels)), np.float32)})
    if stored is not None:
        return stored["probabilities"]
    logger.info("scoring %d training images with the teacher", len(images))
    probabilities = teacher_probabilities(teacher, images, labels=labels)
    if cache is not None and write:
        write_cached(cache, key, probabilities=probabilities)
    return probabilities


def teacher_description(teacher: str) -> dict[str, Any]:
    """Which file taught the run: a packaged name can later point at another model, so record its hash too."""
    path = Path(resolve_model(teacher)).resolve()
    return {"name": teacher, "path": str(path), "sha256_16": sha256_of(path)[:16]}


def blend_targets(one_hot: torch.Tensor, teacher: torch.Tensor | None, weight: float) -> torch.Tensor:
    """``(1 - weight) * labels + weight * teacher probabilities``; the labels alone without a teacher."""
    if teacher is None or weight == 0:
        return one_hot
    return (1.0 - weight) * one_hot + weight * teacher
