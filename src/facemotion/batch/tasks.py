"""What a worker does with its share of a job: the same code in a local process and in a Ray actor.

A task is built once per worker (one :class:`Recognizer` each, loaded once) and then called on batches of inputs;
it returns, per input, the rows that input contributes, so an engine can hand back whole inputs only. Every
failure of one input becomes that input's error row; nothing an input does stops the worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facemotion.batch.tables import Column
from facemotion.errors import FacemotionError, ModelError
from facemotion.inference.rows import image_columns, image_rows
from facemotion.types import ImageResult

__all__ = ["InputRows", "PhotoTask", "VideoTask", "make_task", "task_columns", "SUMMARY_COLUMNS", "video_csv_name",
           "error_rows", "model_labels"]

logger = logging.getLogger(__name__)

InputRows = tuple[str, list[list[Any]]]
"""One finished input and its rows."""

SUMMARY_COLUMNS: tuple[Column, ...] = (
    ("path", "str"), ("csv", "str"), ("video_fps", "float"), ("frames", "int"), ("frames_with_faces", "int"),
    ("faces", "int"), ("tracks", "int"), ("main_emotion", "str"), ("main_emotion_probability", "float"),
    ("processing_seconds", "float"), ("error", "str"))
"""The summary table of a video job: one row per video; ``main_emotion`` is the longest track's dominant emotion."""


def task_columns(video: bool, labels: Sequence[str]) -> list[Column]:
    """The typed columns of a job's table: the rows of ``facemotion predict --csv`` (a probability column per label
    of the job's model), or the video summary."""
    if video:
        return list(SUMMARY_COLUMNS)
    kinds = {"path": "str", "face": "int", "x": "int", "y": "int", "w": "int", "h": "int", "emotion": "str",
             "error": "str"}
    return [(name, kinds.get(name, "float")) for name in image_columns(labels)]


def model_labels(recognizer: dict[str, Any]) -> tuple[str, ...]:
    """The label names of the job's model, read once by the driver from the model itself (the ONNX metadata or the
    checkpoint config), to build the table's columns and to tell the model's job from another's."""
    from facemotion.inference.backends import classifier_labels, load_classifier

    return classifier_labels(load_classifier(recognizer.get("model", "default"), threads=1))


def _check_labels(recognizer: Any, labels: Sequence[str] | None) -> None:
    """A worker's model must give the driver's labels (a model file replaced mid-job, or another file at the same
    path on another node, would put its probabilities under the wrong columns)."""
    if labels is not None and tuple(recognizer.labels) != tuple(labels):
        raise ModelError(f"the worker's model has the labels {list(recognizer.labels)}, the job's {list(labels)}: "
                         f"is --model the same file on every node?")


def video_csv_name(path: str) -> str:
    """The per-video CSV's file name: the video's stem and a hash of its path, unique and the same on every run."""
    return f"{Path(path).stem}-{hashlib.sha1(os.fsencode(path)).hexdigest()[:8]}.csv"


class PhotoTask:
    """Rows of ``facemotion predict --csv`` for a batch of photos (paths, or encoded bytes read by the engine)."""

    def __init__(self, recognizer: dict[str, Any], labels: Sequence[str] | None = None) -> None:
        from facemotion.inference.recognizer import Recognizer

        self.recognizer = Recognizer(**recognizer)
        _check_labels(self.recognizer, labels)
        self.labels = tuple(self.recognizer.labels)

    def __call__(self, paths: Sequence[str], sources: Sequence[Any] | None = None) -> list[InputRows]:
        results = self.recognizer.predict_batch(list(sources if sources is not None else paths))
        return [(path, image_rows(result if result.path == path else ImageResult(
            path, result.faces, result.width, result.height, result.error), self.labels))
                for path, result in zip(paths, results)]

    @staticmethod
    def error_rows(path: str, message: str, labels: Sequence[str]) -> list[list[Any]]:
        return image_rows(ImageResult(path, error=message), labels)


class VideoTask:
    """One CSV per video (the columns of ``facemotion video``) and its summary row."""

    def __init__(self, recognizer: dict[str, Any], analyzer: dict[str, Any], every: int, csv_dir: str,
                 labels: Sequence[str] | None = None) -> None:
        from facemotion.inference.recognizer import Recognizer

        self.recognizer = Recognizer(**recognizer)
        _check_labels(self.recognizer, labels)
        self.analyzer = analyzer
        self.every = every
        self.csv_dir = Path(csv_dir)

    def __call__(self, paths: Sequence[str], sources: Sequence[Any] | None = None) -> list[InputRows]:
        return [(path, [self._one(path)]) for path in paths]

    def _one(self, path: str) -> list[Any]:
        from facemotion.video import CsvWriter, VideoAnalyzer, VideoSource, run_video

        target = self.csv_dir / video_csv_name(path)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            analyzer = VideoAnalyzer(self.recognizer, **self.analyzer)
            with VideoSource(path) as source:
                writer = CsvWriter(tmp, labels=self.recognizer.labels)
                try:
                    summary = run_video(source, analyzer, every=self.every, csv=writer)
                finally:
                    writer.close()
            os.replace(tmp, target)  # whole or absent: a killed job leaves no half CSV under the final name
        except FacemotionError as exc:
            return self.error_rows(path, str(exc), self.recognizer.labels)[0]
        except Exception as exc:  # one broken video must not cost the others their results
            logger.debug("unexpected error on %s", path, exc_info=True)
            return self.error_rows(path, f"{path}: {type(exc).__name__}: {exc}", self.recognizer.labels)[0]
        finally:
            if tmp.exists():
                tmp.unlink()
        main = summary.main_tracks()
        emotion, probability = main[0].dominant() if main else (None, None)
        return [path, str(target), summary.video_fps, summary.frames, summary.frames_with_faces, summary.faces,
                len(summary.tracks), emotion, probability, round(summary.elapsed, 3), None]

    @staticmethod
    def error_rows(path: str, message: str, labels: Sequence[str]) -> list[list[Any]]:
        return [[path, *([None] * (len(SUMMARY_COLUMNS) - 2)), message]]


def make_task(spec: dict[str, Any]) -> PhotoTask | VideoTask:
    """A task from its picklable description (what engines ship to their workers)."""
    if spec["video"]:
        return VideoTask(spec["recognizer"], spec["analyzer"], spec["every"], spec["csv_dir"], spec.get("labels"))
    return PhotoTask(spec["recognizer"], spec.get("labels"))


def error_rows(video: bool, path: str, message: str, labels: Sequence[str]) -> list[list[Any]]:
    """The rows of an input that failed outside a task (a lost worker, a missing folder), in the columns of
    :func:`task_columns` for the same ``labels``."""
    return (VideoTask if video else PhotoTask).error_rows(path, message, labels)

