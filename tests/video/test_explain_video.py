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
    for frame in frames:
        frame[:24, :24] = 230
    analyzer = VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"), explain=True)
    results = list(analyzer.stream(frames, fps=10))
    assert all(t.smoothed.heatmap is not None and t.raw.heatmap is not None for r in results for t in r.faces)
    plain = VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"))
    plain_result = list(plain.stream(frames[:1], fps=10))[0]
    assert plain_result.faces[0].smoothed.heatmap is None
    assert not np.array_equal(annotate_frame(frames[0], results[0]), annotate_frame(frames[0], plain_result))


def test_an_unknown_label_is_refused_up_front(explaining_onnx: Path) -> None:
    with pytest.raises(FacemotionError, match="unknown label"):
        VideoAnalyzer(Recognizer(str(explaining_onnx), detector="none"), explain=["joy"])


class ScriptedExplainer:
    """Frame by frame: neutral clearly first, then sad narrowly on top; each label's map lights its own cell."""

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        return self.explain(crops)[0]

    def explain(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from facemotion.labels import EMOTIONS

        probs = np.full(7, 0.02, np.float32)
        if self.calls == 0:
            probs[EMOTIONS.index("neutral")] = 0.88
        else:
            probs[EMOTIONS.index("sad")], probs[EMOTIONS.index("neutral")] = 0.47, 0.43
        self.calls += 1
        maps = np.zeros((len(crops), 7, 6, 6), np.float32)
        for k in range(7):
            maps[:, k, k // 6, k % 6] = 1.0
        return np.repeat(probs[None], len(crops), axis=0), maps


def test_the_drawn_map_is_the_smoothed_labels_not_the_raw_top_ones() -> None:
    from facemotion.inference.annotate import draw_heatmaps
    from facemotion.labels import EMOTIONS

    frames = [np.full((48, 48, 3), 128, np.uint8)] * 2
    analyzer = VideoAnalyzer(Recognizer(ScriptedExplainer(), detector="none"), explain=True)
    second = list(analyzer.stream(frames, fps=10))[1].faces[0]
    assert second.raw.emotion == "sad" and second.smoothed.emotion == "neutral"  # smoothing kept the label shown
    neutral = EMOTIONS.index("neutral")
    assert list(second.smoothed.heatmap.maps) == ["neutral"]
    assert second.smoothed.heatmap.maps["neutral"][neutral // 6][neutral % 6] == 1.0
    assert list(second.raw.heatmap.maps) == ["sad"]  # the raw result keeps its own top label's map
    # a face whose heatmap lacks the label it shows is not drawn with another label's map
    import dataclasses

    other = dataclasses.replace(second.smoothed, heatmap=second.raw.heatmap)
    assert np.array_equal(draw_heatmaps(frames[0], [other]), frames[0])
    assert not np.array_equal(draw_heatmaps(frames[0], [second.smoothed]), frames[0])
