"""Label names: FER2013's seven (one data set's labels, not the program's) and the check any label set passes.

A model carries its own label names (ONNX metadata ``labels``, the model card); :data:`EMOTIONS` is what a model
without them, or FER2013 data, means.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["EMOTIONS", "NUM_CLASSES", "IMAGE_SIZE", "MAX_TOP_K", "check_labels"]

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES: int = len(EMOTIONS)
IMAGE_SIZE: int = 48


MAX_TOP_K = 100
"""The most emotions a face may list (``top_k``): bounds the output; a model with fewer labels lists all it has."""


def check_labels(names: Iterable[object], *, source: str = "labels") -> tuple[str, ...]:
    """``names`` as a tuple of two or more distinct, non-empty strings without commas (CSV columns and the
    ``--labels a,b,c`` form both need that); ``ValueError`` naming ``source`` otherwise."""
    labels = tuple(names)
    bad = [n for n in labels if not isinstance(n, str) or not n.strip() or n != n.strip() or "," in n]
    if bad:
        raise ValueError(f"{source}: label names must be non-empty strings without commas or surrounding spaces, "
                         f"got {bad!r}")
    if len(labels) < 2:
        raise ValueError(f"{source}: a classifier needs at least two labels, got {list(labels)}")
    repeated = sorted({n for n in labels if labels.count(n) > 1})
    if repeated:
        raise ValueError(f"{source}: label names must be distinct, {repeated} repeat")
    return labels  # type: ignore[return-value]
