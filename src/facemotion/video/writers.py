"""Where per-frame results go: a CSV flushed frame by frame, and an annotated copy of the video.

The CSV is flushed after every frame so that a run cut short (Ctrl-C, a camera unplugged, a crash) keeps every row
written so far. The annotated video is drawn with :func:`facemotion.inference.annotate.annotate`, the same drawing
as ``facemotion predict --annotate``. Output problems (an unknown suffix, a folder that cannot be written) are
:class:`FacemotionError`, a usage error; :class:`VideoError` is kept for input that cannot be read.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from facemotion.errors import FacemotionError
from facemotion.inference.annotate import annotate
from facemotion.inference.rows import FACE_COLUMNS, face_cells
from facemotion.labels import EMOTIONS
from facemotion.video.results import FrameResult

__all__ = ["CSV_COLUMNS", "VIDEO_SUFFIXES", "CsvWriter", "AnnotatedVideoWriter", "annotate_frame", "csv_columns",
           "csv_rows"]


def csv_columns(labels: Sequence[str] = EMOTIONS) -> tuple[str, ...]:
    """The columns for a model with these label names: one probability column per label, smoothed and raw."""
    return ("frame", "time_s", "track", *FACE_COLUMNS, *labels, "raw_emotion", *(f"raw_{e}" for e in labels))


CSV_COLUMNS: tuple[str, ...] = csv_columns()
"""One row per processed frame and face; a frame without a face gets one row with only ``frame`` and ``time_s``.
These are a FER2013 model's columns; another model's come from :func:`csv_columns` of its labels."""

VIDEO_SUFFIXES: dict[str, str] = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
"""Output container -> the codec OpenCV's bundled FFmpeg writes without extra libraries (no H.264 in the wheel)."""


def annotate_frame(image: np.ndarray, result: FrameResult | None, *, top_k: int = 1) -> np.ndarray:
    """``image`` with ``result``'s faces boxed and labelled ``#track emotion confidence`` (a copy), or ``image``
    itself when there is nothing to draw."""
    if result is None or not result.faces:
        return image
    faces = [t.smoothed for t in result.faces]
    return annotate(image, faces, top_k=top_k, titles=[f"#{t.track_id}" for t in result.faces],
                    heatmaps=any(face.heatmap is not None for face in faces))


def csv_rows(result: FrameResult, labels: Sequence[str] = EMOTIONS) -> list[list[Any]]:
    """The CSV rows of one frame, in :func:`csv_columns` order for ``labels``: a face's cells are
    :func:`~facemotion.inference.rows.face_cells` (the photo CSV's), then the raw emotion and probabilities."""
    time = round(result.time, 4)
    if not result.faces:
        return [[result.index, time] + [""] * (len(csv_columns(labels)) - 2)]
    rows = []
    for tracked in result.faces:
        raw = tracked.raw.to_dict()
        rows.append([result.index, time, tracked.track_id, *face_cells(tracked.smoothed, labels), raw["emotion"],
                     *(raw["probabilities"][e] for e in labels)])
    return rows


class CsvWriter:
    """Writes :func:`csv_columns` rows to a file (created with its folder) or an open text stream (stdout);
    ``labels`` are the model's label names (``Recognizer.labels``)."""

    def __init__(self, target: Path | TextIO, labels: Sequence[str] = EMOTIONS) -> None:
        self.labels = tuple(labels)
        if isinstance(target, Path):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._handle: TextIO = target.open("w", newline="")
            except OSError as exc:
                raise FacemotionError(f"{target}: cannot write the CSV ({exc.strerror or exc})") from exc
            self._owned = True
        else:
            self._handle, self._owned = target, False
        self.name = str(target) if isinstance(target, Path) else getattr(target, "name", "<stream>")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(csv_columns(self.labels))
        self._handle.flush()

    def write(self, result: FrameResult) -> None:
        """Append one frame's rows and flush them to the OS, so they survive an interrupted run."""
        self._writer.writerows(csv_rows(result, self.labels))
        self._handle.flush()

    def close(self) -> None:
        if self._owned and not self._handle.closed:
            self._handle.close()


class AnnotatedVideoWriter:
    """An annotated copy of the video: every frame, boxed and labelled with ``#track emotion confidence``.

    Args:
        path: ``.mp4``/``.m4v``/``.mov``/``.mkv`` (MPEG-4 Part 2) or ``.avi`` (Motion JPEG); its folder is created.
        fps: frames per second of the output; pass the source's so it plays at the original speed.
        size: ``(width, height)`` of the frames; other sizes are resized to it.
    """

    def __init__(self, path: Path, *, fps: float, size: tuple[int, int], top_k: int = 1) -> None:
        fourcc = VIDEO_SUFFIXES.get(path.suffix.lower())
        if fourcc is None:
            raise FacemotionError(f"{path}: the annotated video must end in {', '.join(VIDEO_SUFFIXES)}")
        if fps <= 0 or min(size) <= 0:
            raise FacemotionError(f"{path}: cannot write a video at {fps} fps of size {size}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FacemotionError(f"{path}: cannot create its folder ({exc.strerror or exc})") from exc
        self.path, self.size, self.top_k = path, size, top_k
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), size)
        if not writer.isOpened():
            raise FacemotionError(f"{path}: OpenCV cannot write a {fourcc} video here (folder not writable, or the "
                             f"codec is missing from this build)")
        self._writer: cv2.VideoWriter | None = writer
        self.frames = 0

    def write(self, image: np.ndarray, result: FrameResult | None) -> None:
        """Draw ``result``'s faces (the latest processed frame's, when this one was skipped) on ``image`` and add it."""
        image = annotate_frame(image, result, top_k=self.top_k)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        if self._writer is None:
            raise FacemotionError(f"{self.path}: the annotated video is already closed")
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        """Finish the file (writes the index an MP4 needs to be readable)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
