"""Offline knowledge distillation: a finished model's probabilities on the training images, as soft targets.

The teacher (``default``, ``fast``, an ``.onnx`` or a ``.pt`` file) scores every un-augmented training image once, at
the start of the run; each step then blends those probabilities into its targets before augmentation. Scoring once
costs seconds where scoring every augmented batch would cost the teacher's forward pass on every step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from facemotion.inference.backends import load_classifier
from facemotion.inference.weights import resolve_model
from facemotion.labels import IMAGE_SIZE, NUM_CLASSES
from facemotion.paths import sha256_of

__all__ = ["teacher_probabilities", "teacher_description", "blend_targets"]


def teacher_probabilities(teacher: str, images: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """``(N, 7)`` float32 probabilities of ``teacher`` for ``(N, 48, 48)`` (or ``(N, 1, 48, 48)``) uint8 images."""
    classifier = load_classifier(teacher)
    crops = np.asarray(images).reshape(len(images), IMAGE_SIZE, IMAGE_SIZE)
    parts = [classifier.predict_proba(crops[i:i + batch_size]) for i in range(0, len(crops), batch_size)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, NUM_CLASSES), np.float32)


def teacher_description(teacher: str) -> dict[str, Any]:
    """Which file taught the run: a packaged name can later point at another model, so record its hash too."""
    path = Path(resolve_model(teacher)).resolve()
    return {"name": teacher, "path": str(path), "sha256_16": sha256_of(path)[:16]}


def blend_targets(one_hot: torch.Tensor, teacher: torch.Tensor | None, weight: float) -> torch.Tensor:
    """``(1 - weight) * labels + weight * teacher probabilities``; the labels alone without a teacher."""
    if teacher is None or weight == 0:
        return one_hot
    return (1.0 - weight) * one_hot + weight * teacher
