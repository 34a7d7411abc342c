"""The table form of image results: one row per face, one row for an image without a face or with an error.

Written once and shared by ``facemotion predict --csv`` and ``facemotion batch``, so the two give the same rows.
Missing values are ``None`` (the CSV writer writes them as empty cells, Parquet as nulls).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facemotion.labels import EMOTIONS
from facemotion.types import ImageResult

__all__ = ["image_columns", "image_rows"]


def image_columns(labels: Sequence[str] = EMOTIONS) -> list[str]:
    """The column names, with one probability column per label."""
    return ["path", "face", "x", "y", "w", "h", "detection_score", "emotion", "confidence", *labels, "error"]


def image_rows(result: ImageResult, labels: Sequence[str] = EMOTIONS) -> list[list[Any]]:
    """The rows of one image, in :func:`image_columns` order."""
    if not result.faces:
        return [[result.path, *([None] * (8 + len(labels))), result.error]]
    rows = []
    for i, face in enumerate(result.faces):
        d = face.to_dict()
        rows.append([result.path, i, *face.box.to_tuple(), d["detection_score"], d["emotion"], d["confidence"],
                     *(d["probabilities"][e] for e in labels), None])
    return rows
