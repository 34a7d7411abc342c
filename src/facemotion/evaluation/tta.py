"""Test-time augmentation on numpy batches of ``(N, 48, 48)`` uint8 crops, for any Classifier."""

from __future__ import annotations

import cv2
import numpy as np

from facemotion.defaults import TTA_MODES
from facemotion.inference.backends import Classifier
from facemotion.labels import IMAGE_SIZE

__all__ = ["TTA_MODES", "flip_views", "tencrop_views", "predict_with_tta"]



def flip_views(crops: np.ndarray) -> list[np.ndarray]:
    """The crops and their mirror images."""
    return [crops, crops[:, :, ::-1]]


def tencrop_views(crops: np.ndarray, crop: int = 42) -> list[np.ndarray]:
    """Four corner crops and the centre crop of ``crop`` pixels, each resized back to 48, and their mirrors."""
    n, size = crops.shape[0], IMAGE_SIZE
    offsets = [(0, 0), (0, size - crop), (size - crop, 0), (size - crop, size - crop),
               ((size - crop) // 2, (size - crop) // 2)]
    views = []
    for y, x in offsets:
        part = crops[:, y:y + crop, x:x + crop]
        resized = np.stack([cv2.resize(part[i], (size, size), interpolation=cv2.INTER_LINEAR) for i in range(n)]) \
            if n else part.reshape(0, size, size)
        views.extend(flip_views(resized))
    return views


def predict_with_tta(classifier: Classifier, crops: np.ndarray, mode: str = "none", batch_size: int = 1024,
                     ) -> np.ndarray:
    """Mean probabilities over the views of ``mode``, in batches so memory stays flat on large splits."""
    if mode not in TTA_MODES:
        raise ValueError(f"unknown TTA mode {mode!r}; expected one of {', '.join(TTA_MODES)}")
    outs = []
    for i in range(0, max(len(crops), 1), batch_size):
        chunk = np.ascontiguousarray(crops[i:i + batch_size])
        views = {"none": lambda c: [c], "flip": flip_views, "tencrop": tencrop_views}[mode](chunk)
        outs.append(np.mean([classifier.predict_proba(np.ascontiguousarray(v)) for v in views], axis=0))
    return np.concatenate(outs)[:len(crops)]
