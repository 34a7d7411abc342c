"""The table form of image results: one row per face, one row for an image without a face or with an error.

Written once and shared by ``facemotion predict --csv`` and ``facemotion batch``, so the two give the same rows;
:func:`face_cells`, one face's cells, is shared with the video CSV too. Missing values are ``None`` (the CSV writer
writes them as empty cells, Parquet as nulls). Every table writer passes its rows through :func:`text_cells`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from facemotion.labels import EMOTIONS
from facemotion.types import FaceResult, ImageResult

__all__ = ["FACE_COLUMNS", "face_cells", "image_columns", "image_rows", "text_cell", "text_cells"]


FACE_COLUMNS: tuple[str, ...] = ("x", "y", "w", "h", "detection_score", "emotion", "confidence")
"""The columns of one face before its probabilities (one column per label follows, in the labels' order)."""


def face_cells(face: FaceResult, labels: Sequence[str] = EMOTIONS) -> list[Any]:
    """One face's cells: :data:`FACE_COLUMNS`, then its probability for each of ``labels``, rounded as in its JSON."""
    d = face.to_dict()
    return [*face.box.to_tuple(), d["detection_score"], d["emotion"], d["confidence"],
            *(d["probabilities"][e] for e in labels)]


def image_columns(labels: Sequence[str] = EMOTIONS) -> list[str]:
    """The column names, with one probability column per label."""
    return ["path", "face", *FACE_COLUMNS, *labels, "error"]


def image_rows(result: ImageResult, labels: Sequence[str] = EMOTIONS) -> list[list[Any]]:
    """The rows of one image, in :func:`image_columns` order."""
    if not result.faces:
        return [[result.path, *([None] * (len(FACE_COLUMNS) + 1 + len(labels))), result.error]]
    return [[result.path, i, *face_cells(face, labels), None] for i, face in enumerate(result.faces)]


def text_cell(value: Any) -> Any:
    """``value`` with any string made valid UTF-8, as CSV files and Parquet need.

    A file name that is not UTF-8 reaches Python with its stray bytes as lone surrogates (``os.fsdecode``); written
    as they are, they stop the whole table. They are written as ``\\xNN`` escapes instead, so the row still names
    its file, readably. Other values pass unchanged.
    """
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name makes (from JSON, say): its code point, escaped
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def text_cells(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The rows with every cell through :func:`text_cell`."""
    return [[text_cell(value) for value in row] for row in rows]
