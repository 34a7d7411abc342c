"""Frames from a video file, a camera index or a stream URL, behind one iterator.

Every failure is a :class:`~facemotion.errors.VideoError` naming the source (and the frame when there is one), so
the command line can say what is wrong instead of printing OpenCV's "not opened". Files are checked by decoding
their first frame when opened: an unsupported codec or a file without frames fails at once, not after a long setup.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from facemotion.checks import is_whole
from facemotion.errors import FacemotionError, VideoError
from facemotion.video.probe import explain_unopenable, image_kind

__all__ = ["Frame", "SourceLike", "VideoSource", "parse_source", "parse_timestamp"]

logger = logging.getLogger(__name__)

SourceLike = Union[str, Path, int]
"""A video file path, a camera index (``0`` or ``"0"``) or a stream URL (``rtsp://...``, ``http://...``)."""

MAX_BAD_FRAMES = 100
"""Undecodable frames in a row after which a file is taken to end: a damaged stretch is skipped, a dead file is not
read forever."""

_TIMESTAMP = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)$")


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: its index in the source, its time in seconds from the source's start, BGR pixels."""

    index: int
    time: float
    image: np.ndarray

    def __post_init__(self) -> None:
        """Refuse a frame that would poison the tracker and smoother (their ages and weights are time differences);
        keep NumPy numbers as Python ones, so results serialise to JSON."""
        if not is_whole(self.index, 0):
            raise FacemotionError(f"Frame.index must be a whole number >= 0, got {self.index!r}")
        if isinstance(self.time, bool) or not isinstance(self.time, numbers.Real) or not 0 <= self.time < math.inf:
            raise FacemotionError(f"Frame.time must be a finite number of seconds >= 0, got {self.time!r}")
        if not isinstance(self.image, np.ndarray) or self.image.ndim not in (2, 3):
            raise FacemotionError(f"Frame.image must be a 2-D (gray) or 3-D (colour) image array, got "
                                  f"{type(self.image).__name__} of shape {getattr(self.image, 'shape', None)}")
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "time", float(self.time))


def parse_timestamp(value: str | float | int | None, *, name: str = "time") -> float | None:
    """``"90"``, ``"90.5"``, ``"1:30"`` or ``"01:01:30.5"`` -> seconds; None stays None.

    Recorded sessions are annotated in ``mm:ss``; accepting both forms saves users the arithmetic.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _TIMESTAMP.match(value.strip())
        if not match:
            raise FacemotionError(f"{name} must be seconds (90, 90.5) or [hh:]mm:ss (1:30, 01:01:30.5), "
                                  f"got {value!r}")
        parts = [p for p in match.groups() if p is not None]
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    if not math.isfinite(seconds) or seconds < 0:
        raise FacemotionError(f"{name} must be a time >= 0, got {value!r}")
    return seconds


def parse_source(source: SourceLike) -> int | str | Path:
    """A camera index (int), a URL (str) or a file path (Path), from what a user typed: digits are a camera index,
    unless a file of that name exists (a recording called ``2024``); ``./0`` is always the file."""
    if isinstance(source, bool):
        raise FacemotionError(f"a video source is a path, a camera index or a URL, got {source!r}")
    if isinstance(source, int):
        return _camera_index(source)
    if isinstance(source, Path):
        return source
    text = str(source).strip()
    if text.isascii() and text.isdigit() and not Path(text).is_file():  # "²".isdigit() too
        return _camera_index(int(text))
    if "://" in text:
        return text
    return Path(text)


MAX_CAMERA_INDEX = 9_999
"""The largest camera index taken: OpenCV's index plus a backend's offset (``CAP_V4L2`` is 200); beyond, OpenCV
raises or crashes (a negative index ends the process)."""


def _camera_index(index: int) -> int:
    if not 0 <= index <= MAX_CAMERA_INDEX:
        raise FacemotionError(f"a camera index is 0 to {MAX_CAMERA_INDEX}, got {index}")
    return index


class VideoSource:
    """An opened video file, camera or stream; iterate :meth:`frames` to read it, close it when done.

    Example::

        with VideoSource("interview.mp4", start=60, end=120) as video:
            print(video.fps, video.frame_count, video.width, video.height)
            for frame in video.frames(every=5):      # every 5th frame of minute two
                ...

    Args:
        source: a file path, a camera index or a stream URL (see :data:`SourceLike`).
        start: skip to this time in seconds (files only).
        end: stop after this time in seconds; for cameras and streams, after this many seconds of reading.

    Raises:
        VideoError: missing file, not a video, no frames, a codec OpenCV cannot decode, a camera that does not open,
            or ``start`` past the end of the video.
    """

    def __init__(self, source: SourceLike, *, start: float = 0.0, end: float | None = None) -> None:
        if not math.isfinite(start) or (end is not None and not math.isfinite(end)):
            raise FacemotionError(f"start and end must be finite seconds, got start={start}, end={end}")
        if start < 0 or (end is not None and end <= start):
            raise FacemotionError(f"need 0 <= start < end, got start={start}, end={end}")
        self.source = parse_source(source)
        self.live = not isinstance(self.source, Path)
        self.name = f"camera {self.source}" if isinstance(self.source, int) else str(self.source)
        if self.live and start > 0:
            raise FacemotionError(f"{self.name}: --start works on video files only; a camera or stream starts now")
        self.start, self.end = start, end
        capture = self._open()
        self._capture: cv2.VideoCapture | None = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps: float | None = float(fps) if 0 < fps < 1000 else None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 and not self.live else None
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
        self.codec = fourcc.to_bytes(4, "little").decode("latin-1").strip("\x00 ") if fourcc > 0 else ""
        self._clock = time.monotonic()
        self._bad = 0  # undecodable frames in a row, see _step
        first = self._read_first(capture)
        self._first: Frame | None = first
        self.first_index = first.index
        """The index of the first frame :meth:`frames` yields (``start`` rounded to a frame)."""
        self.height, self.width = first.image.shape[:2]

    def __repr__(self) -> str:
        return (f"VideoSource({self.name!r}, {self.width}x{self.height}, fps={self.fps}, "
                f"frames={self.frame_count}, codec={self.codec!r})")

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file or camera; safe to call twice."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    @property
    def duration(self) -> float | None:
        """Seconds in the file (None for cameras, streams and files that do not say)."""
        if self.frame_count is None or self.fps is None:
            return None
        return self.frame_count / self.fps

    def expected_frames(self, every: int = 1) -> int | None:
        """How many frames :meth:`frames` will yield, when the file says how long it is (for progress bars)."""
        if self.frame_count is None:
            return None
        last = self.frame_count
        if self.end is not None and self.fps is not None:
            last = min(last, math.floor(self.end * self.fps) + 1)
        remaining = max(last - self.first_index, 0)
        return -(-remaining // every)

    def _open(self) -> cv2.VideoCapture:
        if isinstance(self.source, int):
            capture = cv2.VideoCapture(self.source)
            if not capture.isOpened():
                raise VideoError(f"{self.name}: cannot be opened (no such camera, in use by another program, "
                                 f"or no permission)")
            return capture
        if isinstance(self.source, str):
            capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG)
            if not capture.isOpened():
                raise VideoError(f"{self.name}: cannot open the stream (wrong URL, unreachable, or a protocol this "
                                 f"OpenCV/FFmpeg build lacks)")
            return capture
        path = self.source
        if not path.exists():
            raise VideoError(f"{path}: no such file")
        if not path.is_file():
            raise VideoError(f"{path}: not a file")
        try:
            with path.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise VideoError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
        if not head or image_kind(head) is not None:  # FFmpeg would open a photo as a one-frame video
            raise VideoError(f"{path}: {explain_unopenable(path)}")
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)  # FFmpeg only: no image-sequence guessing
        if not capture.isOpened():
            raise VideoError(f"{path}: {explain_unopenable(path)}")
        return capture

    def _time(self, capture: cv2.VideoCapture, index: int) -> float:
        """Seconds from the source's start: the container's timestamp for files, the wall clock for live sources."""
        if self.live:
            return time.monotonic() - self._clock
        msec = capture.get(cv2.CAP_PROP_POS_MSEC)
        if math.isfinite(msec) and msec >= 0 and (msec > 0 or index == 0):
            return msec / 1000.0
        return index / self.fps if self.fps else float(index)

    def _read_first(self, capture: cv2.VideoCapture) -> Frame:
        index = 0
        if self.start > 0:
            if self.fps is None:
                raise VideoError(f"{self.name}: the file gives no frame rate, so --start cannot seek")
            index = round(self.start * self.fps)
            if self.frame_count is not None and index >= self.frame_count:
                raise VideoError(f"{self.name}: start {self.start:.2f} s is past the end of the video "
                                 f"({self.frame_count} frames, {self.duration:.2f} s)")
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = capture.read()
        if not ok or image is None:
            self.close()
            if self.live:
                raise VideoError(f"{self.name}: opened, but gives no frames")
            if self.start > 0:
                raise VideoError(f"{self.name}: cannot read frame {index} (start {self.start:.2f} s)")
            if self.frame_count is None:
                raise VideoError(f"{self.name}: the video holds no frames")
            codec = f" {self.codec!r}" if self.codec else ""
            raise VideoError(f"{self.name}, frame 0: cannot decode the video (codec{codec}); it is damaged or uses "
                             f"a codec this OpenCV/FFmpeg build lacks")
        if not self.live:
            index = max(round(capture.get(cv2.CAP_PROP_POS_FRAMES)) - 1, 0)
        return Frame(index, self._time(capture, index), _bgr(image, self.name, index))

    def frames(self, every: int = 1) -> Iterator[Frame]:
        """The frames from ``start`` to ``end``, every ``every``-th one (skipped frames are not converted).

        Reading stops quietly at the end of the file or stream; a frame that cannot be decoded is skipped with a
        warning naming it; a file that ends well before the length its header gives is logged as cut short, and the
        frames read until then are kept.
        """
        if not is_whole(every):
            raise FacemotionError(f"every must be a whole number >= 1 (process every Nth frame), got {every!r}")
        capture, frame = self._capture, self._first
        if capture is None or frame is None:
            raise VideoError(f"{self.name}: already read to the end or closed; open it again")
        self._first = None
        try:
            while True:
                if self.end is not None and frame.time > self.end:
                    return
                yield frame
                index, target = frame.index, frame.index + every
                while True:  # grab() decodes but skips the colour conversion and the copy
                    index += 1
                    status, image = self._step(capture, index, decode=index >= target)
                    if status == "end":
                        return
                    if status == "ok" and index >= target:
                        break
                frame = Frame(index, self._time(capture, index), _bgr(image, self.name, index))
        finally:
            self.close()

    def _step(self, capture: cv2.VideoCapture, index: int, *, decode: bool) -> tuple[str, np.ndarray | None]:
        """Read (``decode``) or grab frame ``index``: ("ok", pixels or None), ("bad", None) or ("end", None).

        A file's undecodable frame (a damaged packet) is skipped, as players do, with a warning naming it once a
        later frame decodes; after :data:`MAX_BAD_FRAMES` failures in a row, or past the announced length, the file
        has ended. A live source ends at its first failed read.
        """
        if decode:
            ok, image = capture.read()
            ok = ok and image is not None
        else:
            ok, image = capture.grab(), None
        if ok:
            if self._bad:
                first = index - self._bad
                which = f"frame {first}" if self._bad == 1 else f"frames {first}-{index - 1}"
                logger.warning("%s, %s: cannot be decoded (damaged); skipped", self.name, which)
                self._bad = 0
            return "ok", image
        self._bad += 1
        past_end = self.frame_count is not None and index >= self.frame_count
        if self.live or past_end or self._bad >= MAX_BAD_FRAMES:
            self._check_complete(index - self._bad)
            return "end", None
        return "bad", None

    def _check_complete(self, last_index: int) -> None:
        if self.frame_count is not None and last_index + 1 < 0.95 * self.frame_count - 1:
            logger.warning("%s: stopped at frame %d of the %d the file announces: it is cut short or damaged; "
                           "the frames read so far are kept", self.name, last_index, self.frame_count)
        elif self.live:
            logger.info("%s: the stream ended after frame %d", self.name, last_index)


def _bgr(image: np.ndarray, name: str, index: int) -> np.ndarray:
    """OpenCV gives BGR frames, except for some cameras and codecs (gray, 16-bit, BGRA): normalise to BGR uint8."""
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return image
    if image.dtype != np.uint8:
        image = (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else image.astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise VideoError(f"{name}, frame {index}: unexpected frame of shape {image.shape}")
