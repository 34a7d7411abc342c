"""Inputs for the batch tests, made on the fly, and a task that kills its worker on a chosen input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facemotion.batch.tasks import PhotoTask
from tests.video.media import square_frames, write_video

__all__ = ["write_photos", "write_videos", "make_dying_task", "POISON"]

POISON = "poison.png"


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


class _DyingTask(PhotoTask):
    def __call__(self, paths: Any, sources: Any = None) -> Any:
        if any(Path(p).name == POISON for p in paths):
            os._exit(9)  # as a crash in native code or the OOM killer would
        return super().__call__(paths, sources)


def make_dying_task(spec: dict[str, Any]) -> PhotoTask:
    return _DyingTask(spec["recognizer"])
