"""``VideoAnalyzer(explain=True)``: every tracked face keeps its heatmap, smoothed or not, and is drawn with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.inference.recognizer import Recognizer
from facemotion.video import VideoAnalyzer
from facemotion.video.writers import annotate_frame


def test_tracked_faces_carry_heatmaps_and_are_drawn_with_them(explaining_onnx: Path) -> None:
    frames = [np.full((48, 48, 3), 60 + 20 * i, np.uint8) for i in range(3)]
    for i, frame in enumerate(frames):
        frame[:24, :24] = 230
    analyzer = VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"), explain=True)
    results = list(analyzer.stream(frames, fps=10))
    assert all(t.face.heatmap is not None and t.raw.heatmap is not None for r in results for t in r.faces)
    plain = VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"))
    plain_result = list(plain.stream(frames[:1], fps=10))[0]
    assert plain_result.faces[0].face.heatmap is None
    assert not np.array_equal(annotate_frame(frames[0], results[0]), annotate_frame(frames[0], plain_result))


def test_an_unknown_label_is_refused_up_front(explaining_onnx: Path) -> None:
    with pytest.raises(FacemotionError, match="unknown label"):
        VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"), explain=["joy"])
