from __future__ import annotations

import json
import pickle

import pytest

from facemotion.errors import FacemotionError
from facemotion.labels import EMOTIONS
from facemotion.types import Box, Detection, FaceResult, ImageResult, Landmarks

PROBS = [0.05, 0.01, 0.04, 0.7, 0.1, 0.05, 0.05]
LANDMARKS = Landmarks.from_points([(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)])


def face() -> FaceResult:
    return FaceResult.from_probabilities(Detection(Box(1, 2, 3, 4), 0.987654, LANDMARKS), PROBS)


def test_face_result_schema_is_stable() -> None:
    assert face().to_dict() == {
        "box": {"x": 1, "y": 2, "w": 3, "h": 4},
        "detection_score": 0.9877,
        "landmarks": {"right_eye": [1.0, 2.0], "left_eye": [3.0, 4.0], "nose": [5.0, 6.0],
                      "mouth_right": [7.0, 8.0], "mouth_left": [9.0, 10.0]},
        "emotion": "happy",
        "confidence": 0.7,
        "probabilities": dict(zip(EMOTIONS, PROBS)),
    }


def test_results_are_json_serialisable_hashable_and_picklable() -> None:
    result = ImageResult("a.jpg", [face()], width=10, height=20)
    assert json.loads(json.dumps(result.to_dict()))["faces"][0]["emotion"] == "happy"
    assert result.to_dict()["error"] is None and result.ok and isinstance(result.faces, tuple)
    assert pickle.loads(pickle.dumps(result)) == result
    assert hash(face()) == hash(face())
    failed = ImageResult("b.jpg", error="b.jpg: no such file")
    assert not failed.ok and failed.to_dict() == {"path": "b.jpg", "width": None, "height": None, "faces": [],
                                                  "error": "b.jpg: no such file"}


def test_face_result_without_score_or_landmarks_and_top_k() -> None:
    plain = FaceResult.from_probabilities(Detection(Box(0, 0, 1, 1)), PROBS)
    assert plain.to_dict()["detection_score"] is None and plain.to_dict()["landmarks"] is None
    assert plain.top_k(2) == [("happy", 0.7), ("sad", 0.1)]


def test_to_dict_lists_top_k_only_when_asked() -> None:
    assert "top_k" not in face().to_dict() and "top_k" not in face().to_dict(top_k=1)
    assert face().to_dict(top_k=2)["top_k"] == [{"emotion": "happy", "probability": 0.7},
                                                 {"emotion": "sad", "probability": 0.1}]
    assert {k: v for k, v in face().to_dict(top_k=3).items() if k != "top_k"} == face().to_dict()



def test_image_result_to_dict_passes_top_k_to_every_face() -> None:
    result = ImageResult("a.jpg", [face(), face()], width=10, height=20)
    assert result.to_dict(top_k=2)["faces"] == [face().to_dict(top_k=2)] * 2
    assert result.to_dict() == result.to_dict(top_k=1) and "top_k" not in result.to_dict()["faces"][0]


def test_a_face_row_is_its_json_values_in_column_order() -> None:
    from facemotion.inference.rows import FACE_COLUMNS, face_cells, image_columns, image_rows

    d = face().to_dict()
    assert face_cells(face()) == [1, 2, 3, 4, 0.9877, "happy", 0.7, *d["probabilities"].values()]
    assert len(face_cells(face())) == len(FACE_COLUMNS) + len(EMOTIONS)
    rows = image_rows(ImageResult("a.jpg", [face()], width=10, height=20))
    assert rows == [["a.jpg", 0, *face_cells(face()), None]] and len(rows[0]) == len(image_columns())
    empty = image_rows(ImageResult("b.jpg", error="b.jpg: broken"))
    assert len(empty[0]) == len(image_columns()) and empty[0][-1] == "b.jpg: broken"

@pytest.mark.parametrize("probs", [[0.5] * 6, {"happy": 1.0}, [float("nan")] * 7])
def test_bad_probabilities(probs: object) -> None:
    with pytest.raises(ValueError):
        FaceResult.from_probabilities(Detection(Box(0, 0, 1, 1)), probs)  # type: ignore[arg-type]


def test_unknown_emotion() -> None:
    with pytest.raises(ValueError, match="unknown emotion"):
        FaceResult(Box(0, 0, 1, 1), "bored", 1.0, dict(zip(EMOTIONS, PROBS)))


def test_box_parsing_and_geometry() -> None:
    assert Box.of([1.4, 2.6, 3, 4]) == Box(1, 3, 3, 4)
    assert Box.of({"x": 1, "y": 2, "w": 3, "h": 4, "extra": 0}) == Box(1, 2, 3, 4)
    assert Box(-5, -5, 20, 10).clip(10, 10) == Box(0, 0, 10, 5)
    assert Box(50, 50, 5, 5).clip(10, 10).area == 0
    assert Box(0, 0, 4, 2).center == (2.0, 1.0)
    for bad in ([1, 2, 3], {"x": 1}, "1 2 3 4", [1, 2, -3, 4], [1, "a", 3, 4]):
        with pytest.raises(FacemotionError):
            Box.of(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Box(1.5, 0, 1, 1)  # type: ignore[arg-type]


def test_landmarks_need_five_points() -> None:
    assert LANDMARKS.points()[1] == (3.0, 4.0)
    with pytest.raises(ValueError):
        Landmarks.from_points([(1, 2)])
