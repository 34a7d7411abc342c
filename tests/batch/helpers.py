"""Inputs for the batch tests, made on the fly, and a task that kills its worker on a chosen input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facemotion.batch.manifest import journal_path, manifest_path
from facemotion.batch.tasks import PhotoTask
from tests.video.media import square_frames, write_video

__all__ = ["write_photos", "write_videos", "make_dying_task", "make_raising_task", "finished_inputs",
           "write_three_label_classifier", "POISON", "RAISE", "THREE_LABELS"]

POISON = "poison.png"
RAISE = "raise.png"
THREE_LABELS = ("calm", "tense", "glad")


def write_photos(folder: Path, n: int) -> Path:
    """``n`` small photos whose brightness steps from dark to bright (the test classifier's answer), one broken."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i:04d}.png"), np.full((32, 32, 3), (i * 37) % 256, np.uint8))
    (folder / "broken.png").write_text("not an image")
    return folder


def write_videos(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_video(folder / f"clip{i}.avi", square_frames(6 + i))
    return folder


def finished_inputs(out: Path) -> int:
    """How many inputs a running job has recorded so far: its manifest's snapshot and its journal's whole lines."""
    done: set[str] = set()
    try:
        done.update(json.loads(manifest_path(out).read_text())["done"])
    except (OSError, ValueError):
        pass
    try:
        lines = journal_path(out).read_text().split("\n")[:-1]
    except OSError:
        lines = []
    for line in lines:
        done.update(json.loads(line)["inputs"])
    return len(done)


class _DyingTask(PhotoTask):
    def __call__(self, paths: Any, sources: Any = None) -> Any:
        if any(Path(p).name == POISON for p in paths):
            os._exit(9)  # as a crash in native code or the OOM killer would
        return super().__call__(paths, sources)


def make_dying_task(spec: dict[str, Any]) -> PhotoTask:
    return _DyingTask(spec["recognizer"])


class _RaisingTask(PhotoTask):
    def __call__(self, paths: Any, sources: Any = None) -> Any:
        if any(Path(p).name == RAISE for p in paths):
            raise RuntimeError("a bug outside the per-image path")
        return super().__call__(paths, sources)


def make_raising_task(spec: dict[str, Any]) -> PhotoTask:
    return _RaisingTask(spec["recognizer"], spec["labels"])


def write_three_label_classifier(path: Path) -> Path:
    """A tiny torch-free ONNX classifier of three labels (:data:`THREE_LABELS`, in its ``labels`` metadata) whose
    answer follows mean brightness: dark -> calm, mid -> tense, bright -> glad."""
    from tests.conftest import write_brightness_classifier

    return write_brightness_classifier(path, THREE_LABELS)
