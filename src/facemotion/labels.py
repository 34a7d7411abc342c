"""The seven FER2013 emotions, in the data set's own label order: the only copy in the package."""

from __future__ import annotations

__all__ = ["EMOTIONS", "NUM_CLASSES", "IMAGE_SIZE"]

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES: int = len(EMOTIONS)
IMAGE_SIZE: int = 48
