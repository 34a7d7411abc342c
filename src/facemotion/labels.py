"""Label names: FER2013's seven (one data set's labels, not the program's) and the check any label set passes.

A model carries its own label names (ONNX metadata ``labels``, the model card); :data:`EMOTIONS` is what a model
without them, or FER2013 data, means.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from facemotion.errors import ModelError

__all__ = ["EMOTIONS", "NUM_CLASSES", "IMAGE_SIZE", "MAX_TOP_K", "RESERVED_NAMES", "check_labels", "declared_labels"]

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES: int = len(EMOTIONS)
IMAGE_SIZE: int = 48


MAX_TOP_K = 100
"""The most emotions a face may list (``top_k``): bounds the output; a model with fewer labels lists all it has."""

RESERVED_NAMES: frozenset[str] = frozenset({
    "path", "face", "x", "y", "w", "h", "detection_score", "emotion", "confidence", "error",  # predict, batch
    "frame", "time_s", "track", "raw_emotion"})  # the video CSV's own
"""The result tables' other columns: a label named like one would give its probability column a name taken twice.
Names starting ``raw_`` are the video CSV's unsmoothed probabilities, so a label may not start so either."""


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
    taken = [n for n in labels if n in RESERVED_NAMES or n.startswith("raw_")]
    if taken:
        raise ValueError(f"{source}: {taken!r} would share a name with a column of the result tables; rename them "
                         f"(taken: {', '.join(sorted(RESERVED_NAMES))}, and names starting raw_)")
    repeated = sorted(name for name, count in Counter(labels).items() if count > 1)
    if repeated:
        raise ValueError(f"{source}: label names must be distinct, {repeated} repeat")
    return labels  # type: ignore[return-value]


def declared_labels(names: object, num_outputs: int | None, *, source: str) -> tuple[str, ...]:
    """The labels a model declares (a checkpoint config's ``labels``, a graph's parsed ``labels`` metadata),
    checked and matched to its ``num_outputs`` (None: unknown); FER2013's seven when it declares none and has seven
    outputs, as models from before labels travelled. The one rule every model reader applies; ``ModelError``
    naming ``source`` otherwise."""
    if names is None:
        if num_outputs is not None and num_outputs != NUM_CLASSES:
            raise ModelError(f"{source}: the model has {num_outputs} outputs but names no labels; only a 7-output "
                             f"model is taken to mean FER2013's labels")
        return EMOTIONS
    if not isinstance(names, (list, tuple)):
        raise ModelError(f"{source}: labels must be a list of two or more names, got {names!r:.80}")
    try:
        labels = check_labels(names, source=source)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    if num_outputs is not None and num_outputs != len(labels):
        raise ModelError(f"{source}: the model has {num_outputs} outputs but names {len(labels)} labels")
    return labels
