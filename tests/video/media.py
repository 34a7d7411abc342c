"""Synthetic and broken videos made on the fly, and test doubles for the detector and classifier."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facemotion.labels import NUM_CLASSES
from facemotion.types import Box, Detection

__all__ = ["square_frames", "write_video", "write_bad_videos", "damage_frame", "SquareDetector",
           "BrightnessClassifier"]

SIZE = (96, 72)  # width, height
SQUARE = 24


def square_frames(n: int, *, step: int = 1, levels: tuple[int, ...] = (60, 240)) -> list[np.ndarray]:
    """``n`` BGR frames, each with one bright "face": a square moving ``step`` pixels right per frame, its
    brightness cycling through ``levels`` every 5 frames (dark -> angry, bright -> neutral for the test classifier)."""
    frames = []
    for i in range(n):
        image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        x = 8 + (i * step) % (SIZE[0] - SQUARE - 8)
        image[20:20 + SQUARE, x:x + SQUARE] = levels[(i // 5) % len(levels)]
        frames.append(image)
    return frames


def write_video(path: Path, frames: list[np.ndarray], *, fps: float = 10.0, fourcc: str = "MJPG") -> Path:
    """Frames into a video OpenCV can read back exactly in count (Motion JPEG AVI by default)."""
    height, width = frames[0].shape[:2] if frames else (SIZE[1], SIZE[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), path
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_bad_videos(folder: Path) -> dict[str, Path]:
    """Files ``facemotion video`` must refuse with a clear message, by the case they stand for."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.mp4"
    text.write_text("these are interview notes, not a video\n")
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    zero = write_video(folder / "zero-frames.mp4", [], fourcc="mp4v")
    good = write_video(folder / "good.avi", square_frames(10)).read_bytes()
    codec = folder / "unknown-codec.avi"
    codec.write_bytes(good.replace(b"MJPG", b"ZZZZ"))
    image = folder / "photo.mp4"
    cv2.imwrite(str(folder / "photo.jpg"), square_frames(1)[0])
    image.write_bytes((folder / "photo.jpg").read_bytes())
    return {"not a video": text, "empty": empty, "zero frames": zero, "unsupported codec": codec, "image": image}


def damage_frame(path: Path, *indexes: int) -> Path:
    """Zero the first half of each frame ``indexes``' JPEG in a Motion JPEG AVI (from :func:`write_video`): those
    frames no longer decode (FFmpeg: "No JPEG data found"), the others do."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]  # JPEG start-of-image
    for index in indexes:
        start, stop = starts[index], starts[index + 1]
        data[start:start + (stop - start) // 2] = bytes((stop - start) // 2)
    path.write_bytes(bytes(data))
    return path


class SquareDetector:
    """Finds the bright square of :func:`square_frames` (any pixel above 30): a detector without OpenCV models."""

    name = "square"

    def detect(self, image: np.ndarray) -> list[Detection]:
        ys, xs = np.nonzero(image.max(axis=2) > 30)
        if not len(xs):
            return []
        x0, y0 = int(xs.min()), int(ys.min())
        return [Detection(Box(x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1), score=0.9)]


class BrightnessClassifier:
    """Mean crop brightness decides: dark -> angry (index 0), bright -> neutral (index 6), 0.9 on the winner."""

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops, np.float32).reshape(len(crops), -1)
        out = np.full((len(crops), NUM_CLASSES), 0.1 / (NUM_CLASSES - 1), np.float32)
        winner = np.where(crops.mean(axis=1) > 128, NUM_CLASSES - 1, 0)
        out[np.arange(len(crops)), winner] = 0.9
        return out
