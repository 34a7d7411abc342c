from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemotion.errors import FacemotionError, VideoError
from facemotion.video import sources
from facemotion.video.sources import Frame, VideoSource, parse_source, parse_timestamp
from tests.video.media import damage_frame, square_frames, write_bad_videos, write_video


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """30 frames at 10 fps, 96x72, Motion JPEG."""
    return write_video(tmp_path / "clip.avi", square_frames(30), fps=10.0)


def test_parse_timestamp() -> None:
    assert parse_timestamp(None) is None
    assert parse_timestamp("90") == 90.0
    assert parse_timestamp("90.5") == 90.5
    assert parse_timestamp("1:30") == 90.0
    assert parse_timestamp("01:01:30.5") == 3690.5
    assert parse_timestamp(12) == 12.0
    for bad in ("1:2:3:4", "abc", "-5", "1:-3", ""):
        with pytest.raises(FacemotionError, match="seconds"):
            parse_timestamp(bad, name="--start")


def test_parse_source() -> None:
    assert parse_source(0) == 0
    assert parse_source("1") == 1
    assert parse_source("rtsp://cam/live") == "rtsp://cam/live"
    assert parse_source("talk.mp4") == Path("talk.mp4")
    with pytest.raises(FacemotionError):
        parse_source(True)


def test_a_camera_index_opencv_cannot_take_is_refused() -> None:
    """-1 ended the process in OpenCV, 2**31 raised a TypeError; '²' is a digit to str.isdigit but no index."""
    for index in (-1, 2**31, "2147483648", 10_000):
        with pytest.raises(FacemotionError, match="a camera index is 0 to 9999"):
            parse_source(index)
    assert parse_source("²") == Path("²") and parse_source(9_999) == 9_999


def test_digits_naming_an_existing_file_are_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_source("2024") == 2024
    (tmp_path / "2024").write_bytes(b"a recording")
    assert parse_source("2024") == Path("2024") and parse_source(2024) == 2024


def test_reads_every_frame_with_times(clip: Path) -> None:
    with VideoSource(clip) as video:
        assert (video.width, video.height, video.frame_count, video.live) == (96, 72, 30, False)
        assert video.fps == pytest.approx(10.0) and video.duration == pytest.approx(3.0)
        assert video.expected_frames() == 30 and video.expected_frames(4) == 8
        frames = list(video.frames())
    assert [f.index for f in frames] == list(range(30))
    assert [f.time for f in frames] == pytest.approx([i / 10 for i in range(30)], abs=1e-3)
    assert frames[0].image.shape == (72, 96, 3) and frames[0].image.dtype == np.uint8
    assert abs(int(frames[7].image.max()) - 240) < 20  # frames 5-9 are bright, in order


def test_every_start_and_end(clip: Path) -> None:
    with VideoSource(clip) as video:
        assert [f.index for f in video.frames(every=7)] == [0, 7, 14, 21, 28]
    with VideoSource(clip, start=1.0, end=2.0) as video:
        assert video.first_index == 10 and video.expected_frames(2) == 6
        frames = list(video.frames(every=2))
        assert video.expected_frames(2) == 6  # still answers once read
    assert [f.index for f in frames] == [10, 12, 14, 16, 18, 20]
    assert frames[0].time == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(VideoError, match="past the end"):
        VideoSource(clip, start=5.0)
    with pytest.raises(FacemotionError, match="start < end"):
        VideoSource(clip, start=2.0, end=1.0)
    for start, end in ((float("inf"), None), (float("nan"), None), (0.0, float("nan"))):
        with pytest.raises(FacemotionError, match="must be finite seconds"):
            VideoSource(clip, start=start, end=end)
    with VideoSource(clip) as video, pytest.raises(FacemotionError, match="whole number"):
        next(video.frames(every=float("nan")))
    with pytest.raises(FacemotionError, match="every"):
        next(VideoSource(clip).frames(every=0))


def test_a_source_is_read_once(clip: Path) -> None:
    video = VideoSource(clip)
    assert len(list(video.frames())) == 30
    with pytest.raises(VideoError, match="already read"):
        next(video.frames())


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="missing.mp4: no such file"):
        VideoSource(tmp_path / "missing.mp4")
    with pytest.raises(VideoError, match="not a file"):
        VideoSource(tmp_path)


@pytest.mark.parametrize("case, message", [
    ("not a video", "not a video"),
    ("empty", "empty"),
    ("zero frames", "no frames|cut short"),
    ("unsupported codec", "codec 'ZZZZ'"),
    ("image", "JPEG image, not a video"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, case: str, message: str) -> None:
    path = write_bad_videos(tmp_path)[case]
    with pytest.raises(VideoError, match=message) as info:
        VideoSource(path)
    assert str(path) in str(info.value)


def test_a_file_cut_short_keeps_the_frames_before_the_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = write_video(tmp_path / "full.avi", square_frames(40)).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING), VideoSource(cut) as video:
        frames = list(video.frames())
    assert 5 < len(frames) < 40
    assert "cut short" in caplog.text and str(cut) in caplog.text


def test_a_damaged_frame_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One garbage frame in 60 used to end the video at frame 29 ("cut short"); OpenCV reads the other 59."""
    path = damage_frame(write_video(tmp_path / "damaged.avi", square_frames(60)), 30)
    with caplog.at_level(logging.WARNING), VideoSource(path) as video:
        indexes = [f.index for f in video.frames()]
    assert indexes == [i for i in range(60) if i != 30]
    assert f"{path}, frame 30: cannot be decoded" in caplog.text and "cut short" not in caplog.text
    with VideoSource(path) as video:  # every 7th: frames 28 and 35 are read, the damaged 30 only grabbed past
        assert [f.index for f in video.frames(every=7)] == [0, 7, 14, 21, 28, 35, 42, 49, 56]


def test_a_run_of_damaged_frames_ends_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    path = write_video(tmp_path / "dead.avi", square_frames(60))
    damage_frame(path, *range(10, 15))
    monkeypatch.setattr(sources, "MAX_BAD_FRAMES", 3)
    with caplog.at_level(logging.WARNING), VideoSource(path) as video:
        assert [f.index for f in video.frames()] == list(range(10))
    assert "cut short" in caplog.text


def test_a_camera_that_cannot_be_opened() -> None:
    with pytest.raises(VideoError, match="camera 99: cannot be opened"):
        VideoSource(99)
    with pytest.raises(FacemotionError, match="--start works on video files only"):
        VideoSource(0, start=3.0)


class FakeCamera:
    """A cv2.VideoCapture stand-in for a live camera: frames forever, no frame count, 30 fps."""

    def __init__(self, index: int, *args: object) -> None:
        self.opened = index == 0
        self.frames = iter(square_frames(1000))

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, np.ndarray]:
        return True, next(self.frames)

    def grab(self) -> bool:
        next(self.frames)
        return True

    def release(self) -> None:
        self.opened = False


def test_a_live_camera_is_timed_by_the_clock_and_stops_at_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCamera)
    clock = iter(np.arange(0, 100, 0.1))  # +0.1 s at each frame read
    monkeypatch.setattr(sources.time, "monotonic", lambda: float(next(clock)))
    with VideoSource("0", end=1.0) as camera:
        assert camera.live and camera.name == "camera 0" and camera.frame_count is None
        assert camera.expected_frames() is None
        frames = list(camera.frames(every=2))
    assert [f.index for f in frames] == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert [f.time for f in frames] == pytest.approx(np.arange(1, 11) * 0.1)
    with pytest.raises(VideoError, match="camera 3: cannot be opened"):
        VideoSource(3)


@pytest.mark.parametrize(("index", "time", "image", "fragment"), [
    (0, float("nan"), np.zeros((4, 4, 3), np.uint8), "Frame.time"),
    (0, float("inf"), np.zeros((4, 4, 3), np.uint8), "Frame.time"),
    (0, -0.5, np.zeros((4, 4, 3), np.uint8), "Frame.time"),
    (0, "1.5", np.zeros((4, 4, 3), np.uint8), "Frame.time"),
    (-1, 0.0, np.zeros((4, 4, 3), np.uint8), "Frame.index"),
    (1.5, 0.0, np.zeros((4, 4, 3), np.uint8), "Frame.index"),
    (0, 0.0, [[0]], "Frame.image"),
    (0, 0.0, np.zeros(5, np.uint8), "Frame.image"),
])
def test_frames_a_user_builds_are_checked(index: object, time: object, image: object, fragment: str) -> None:
    with pytest.raises(FacemotionError, match=fragment):
        Frame(index, time, image)  # type: ignore[arg-type]


def test_a_frame_may_be_timed_by_numpy_numbers_and_keeps_python_ones() -> None:
    frame = Frame(np.int64(3), np.float32(0.25), np.zeros((2, 2, 3), np.uint8))
    assert (frame.index, frame.time) == (3, 0.25) and type(frame.index) is int and type(frame.time) is float
    json.dumps({"frame": frame.index, "time": frame.time})  # what FrameResult.to_dict() passes on
