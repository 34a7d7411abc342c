from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

import facemotion.video.display as display
from facemotion.errors import FacemotionError
from facemotion.inference.recognizer import Recognizer
from facemotion.video import AnnotatedVideoWriter, CsvWriter, VideoAnalyzer, VideoSource, run_video
from facemotion.video.display import PreviewWindow, display_problem
from tests.video.media import BrightnessClassifier, SquareDetector, square_frames, write_video


@pytest.fixture
def analyzer() -> VideoAnalyzer:
    return VideoAnalyzer(Recognizer(BrightnessClassifier(), SquareDetector()))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi", square_frames(30), fps=10.0)


def test_every_nth_frame_is_analysed_and_the_video_keeps_them_all(analyzer: VideoAnalyzer, clip: Path,
                                                                  tmp_path: Path) -> None:
    source = VideoSource(clip)
    writer = CsvWriter(tmp_path / "rows.csv")
    video = AnnotatedVideoWriter(tmp_path / "out.mp4", fps=10.0, size=(96, 72))
    seen = []
    summary = run_video(source, analyzer, every=4, csv=writer, video=video,
                        on_result=lambda result, s: seen.append((result.index, s.frames)))
    writer.close()
    video.close()
    assert seen == [(i, n + 1) for n, i in enumerate(range(0, 30, 4))]
    assert summary.frames == 8 and not summary.interrupted and summary.elapsed > 0
    assert [int(r["frame"]) for r in csv.DictReader((tmp_path / "rows.csv").open())] == list(range(0, 30, 4))
    assert video.frames == 30
    assert int(cv2.VideoCapture(str(tmp_path / "out.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 30


class InterruptingAnalyzer(VideoAnalyzer):
    """Ctrl-C arrives while the 6th frame is being analysed."""

    def process(self, frame, **kwargs):  # type: ignore[no-untyped-def]
        if frame.index == 5:
            raise KeyboardInterrupt
        return super().process(frame, **kwargs)


def test_ctrl_c_keeps_what_was_processed(clip: Path, tmp_path: Path) -> None:
    analyzer = InterruptingAnalyzer(Recognizer(BrightnessClassifier(), SquareDetector()))
    writer = CsvWriter(tmp_path / "rows.csv")
    summary = run_video(VideoSource(clip), analyzer, csv=writer)
    # the file is read before the writer is closed: the rows were flushed as they came
    assert [int(r["frame"]) for r in csv.DictReader((tmp_path / "rows.csv").open())] == [0, 1, 2, 3, 4]
    writer.close()
    assert summary.interrupted and summary.frames == 5


class FakeWindow:
    def __init__(self, stop_after: int) -> None:
        self.shown, self.stop_after = 0, stop_after

    def show(self, image: np.ndarray, result: object) -> bool:
        self.shown += 1
        return self.shown < self.stop_after


def test_q_in_the_window_stops_the_run(analyzer: VideoAnalyzer, clip: Path) -> None:
    window = FakeWindow(stop_after=7)
    summary = run_video(VideoSource(clip), analyzer, every=3, window=window)  # type: ignore[arg-type]
    assert window.shown == 7 and summary.frames == 3 and summary.interrupted  # frames 0, 3, 6 analysed


def test_preview_window_where_opencv_has_a_gui(monkeypatch: pytest.MonkeyPatch, analyzer: VideoAnalyzer) -> None:
    calls: list[str] = []
    keys = iter([-1, -1, ord("q")])
    monkeypatch.setattr(display, "display_problem", lambda: None)
    monkeypatch.setattr(display.cv2, "namedWindow", lambda *a: calls.append("open"))
    monkeypatch.setattr(display.cv2, "imshow", lambda title, image: calls.append(f"show {image.shape}"))
    monkeypatch.setattr(display.cv2, "waitKey", lambda delay: next(keys, -1))
    monkeypatch.setattr(display.cv2, "getWindowProperty", lambda *a: 1.0)
    monkeypatch.setattr(display.cv2, "destroyWindow", lambda *a: calls.append("close"))
    window = PreviewWindow("test")
    result = analyzer.stream(square_frames(1), fps=10.0).__next__()
    assert window.show(square_frames(1)[0], result) and window.show(square_frames(1)[0], None)
    assert not window.show(square_frames(1)[0], result)  # q
    window.close()
    assert calls == ["open"] + ["show (72, 96, 3)"] * 3 + ["close"]


def test_no_gui_or_no_display_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display, "_gui_backend", lambda: "NONE")
    assert "--headless" in display_problem() and "opencv-python-headless" in display_problem()
    with pytest.raises(FacemotionError, match="--headless"):
        PreviewWindow()
    monkeypatch.setattr(display, "_gui_backend", lambda: "GTK3")
    monkeypatch.setattr(display.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert "$DISPLAY" in display_problem()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_problem() is None
