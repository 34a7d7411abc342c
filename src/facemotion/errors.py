"""A small error hierarchy rooted in ValueError, so bad input is reported with the file, row or frame it came from."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FacemotionError", "DataError", "ImageError", "ModelError", "NoHeatmapsError", "VideoError"]


class FacemotionError(ValueError):
    """Base class of every error facemotion raises for bad input or a bad setting."""


class DataError(FacemotionError):
    """A data set file or one of its rows cannot be used; names the path and, when known, the row."""

    def __init__(self, message: str, *, path: str | Path | None = None, row: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.row = row
        where = ""
        if self.path is not None:
            where = self.path if row is None else f"{self.path}, row {row}"
            where = f"{where}: "
        super().__init__(f"{where}{message}")


class ImageError(FacemotionError):
    """An image cannot be read or decoded; names the source."""


class ModelError(FacemotionError):
    """A model or weights file is missing, unknown or malformed."""


class NoHeatmapsError(ModelError):
    """Heatmaps were asked of a model that gives none: an ONNX graph exported before they existed, a classifier
    without an ``explain`` method, or a network without a pooled linear head."""


class VideoError(FacemotionError):
    """A video or camera cannot be opened or read; names the source and, when known, the frame."""
