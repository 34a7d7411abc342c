from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.inference.recognizer import Recognizer
from facemotion.labels import EMOTIONS
from facemotion.video import Frame, FrameResult, VideoAnalyzer
from tests.video.media import BrightnessClassifier, SquareDetector, square_frames, write_video


@pytest.fixture
def recognizer() -> Recognizer:
    return Recognizer(BrightnessClassifier(), SquareDetector())


def frames_at(fps: float, images: list[np.ndarray]) -> list[Frame]:
    return [Frame(i, i / fps, image) for i, image in enumerate(images)]


def test_stream_tracks_one_moving_face_and_smooths_its_label(recognizer: Recognizer) -> None:
    analyzer = VideoAnalyzer(recognizer, smooth_window=0.5)
    results = list(analyzer.stream(frames_at(10.0, square_frames(20, step=2))))
    assert [r.index for r in results] == list(range(20))
    assert all(isinstance(r, FrameResult) and len(r.faces) == 1 for r in results)
    assert {r.faces[0].track_id for r in results} == {1}
    raw = [r.faces[0].raw.emotion for r in results]
    smoothed = [r.faces[0].smoothed.emotion for r in results]
    assert raw[:10] == ["angry"] * 5 + ["neutral"] * 5  # brightness switches every 5 frames
    assert smoothed[5] == "angry"  # one bright frame does not outweigh half a second of dark ones
    assert smoothed.count("neutral") > 0
    face = results[5].faces[0]
    assert face.smoothed.box == face.raw.box and face.smoothed.detection_score == 0.9
    assert face.smoothed.confidence < face.raw.confidence
    assert sum(face.smoothed.probabilities.values()) == pytest.approx(1.0)
    assert list(face.smoothed.probabilities) == list(EMOTIONS)
    assert face.smoothed.emotion == max(face.smoothed.probabilities, key=face.smoothed.probabilities.get)
    assert face.smoothed.confidence == max(face.smoothed.probabilities.values())
    with pytest.warns(DeprecationWarning, match="TrackedFace.smoothed"):
        assert face.face is face.smoothed  # the former name, for one release


def test_no_smoothing_gives_the_raw_answers(recognizer: Recognizer) -> None:
    analyzer = VideoAnalyzer(recognizer, smooth_window=None)
    for result in analyzer.stream(frames_at(10.0, square_frames(10))):
        tracked = result.faces[0]
        assert tracked.smoothed == tracked.raw


def test_bare_arrays_need_fps_and_are_numbered_in_order(recognizer: Recognizer) -> None:
    analyzer = VideoAnalyzer(recognizer)
    with pytest.raises(FacemotionError, match="fps"):
        list(analyzer.stream(square_frames(2)))
    for fps in (float("nan"), float("inf"), 0.0):
        with pytest.raises(FacemotionError, match="fps"):
            analyzer.process(square_frames(1)[0], fps=fps)
    with pytest.raises(FacemotionError, match="track timeout must be >= 0"):
        VideoAnalyzer(recognizer, track_timeout=float("nan"))
    analyzer.reset()
    results = list(analyzer.stream(square_frames(4), fps=4.0))
    assert [(r.index, r.time) for r in results] == [(0, 0.0), (1, 0.25), (2, 0.5), (3, 0.75)]
    rgb = [image[..., ::-1].copy() for image in square_frames(2)]
    assert len(list(analyzer.stream(rgb, fps=4.0, channel_order="rgb"))) == 2
    with pytest.raises(FacemotionError, match="a frame is"):
        analyzer.process("frame.png")  # type: ignore[arg-type]


def test_frames_without_faces_and_new_tracks_after_the_timeout(recognizer: Recognizer) -> None:
    images = square_frames(3) + [np.zeros_like(square_frames(1)[0])] * 15 + square_frames(3)
    analyzer = VideoAnalyzer(recognizer, track_timeout=1.0)
    results = list(analyzer.stream(frames_at(10.0, images)))
    assert [len(r.faces) for r in results] == [1] * 3 + [0] * 15 + [1] * 3
    assert results[0].faces[0].track_id == 1 and results[-1].faces[0].track_id == 2  # gone 1.5 s: a new track
    assert results[3].to_dict()["faces"] == []


def test_to_dict_adds_track_and_raw_to_the_face_schema(recognizer: Recognizer) -> None:
    result = VideoAnalyzer(recognizer).process(Frame(7, 0.7, square_frames(1)[0]))
    record = result.to_dict()
    assert record["frame"] == 7 and record["time"] == 0.7 and (record["width"], record["height"]) == (96, 72)
    face = record["faces"][0]
    assert face["track_id"] == 1
    assert {"box", "detection_score", "landmarks", "emotion", "confidence", "probabilities"} <= set(face)
    assert set(face["raw"]) == {"emotion", "confidence", "probabilities"}


def test_analyze_reads_a_file_and_starts_afresh(recognizer: Recognizer, tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", square_frames(30), fps=10.0)
    analyzer = VideoAnalyzer(recognizer)
    results = list(analyzer.analyze(clip, every=3, start=1.0))
    assert [r.index for r in results] == list(range(10, 30, 3))
    assert {r.faces[0].track_id for r in results} == {1}
    again = list(analyzer.analyze(clip, every=10))
    assert [r.faces[0].track_id for r in again] == [1, 1, 1]  # ids restart for a new video
