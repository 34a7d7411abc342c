from __future__ import annotations

import numpy as np

from facemotion.inference.annotate import EMOTION_COLORS, annotate, label_lines
from facemotion.labels import EMOTIONS
from facemotion.types import Box, Detection, FaceResult

PROBS = [0.05, 0.01, 0.04, 0.7, 0.1, 0.05, 0.05]


def face_at(box: Box) -> FaceResult:
    return FaceResult.from_probabilities(Detection(box), PROBS)


def test_every_emotion_has_a_color() -> None:
    assert set(EMOTION_COLORS) == set(EMOTIONS)


def test_labels() -> None:
    assert label_lines(face_at(Box(0, 0, 1, 1))) == ["happy 0.70"]
    assert label_lines(face_at(Box(0, 0, 1, 1)), top_k=3) == ["happy 0.70", "sad 0.10", "angry 0.05"]


def test_annotate_draws_on_a_copy() -> None:
    image = np.zeros((200, 300, 3), np.uint8)
    out = annotate(image, [face_at(Box(100, 80, 60, 60)), face_at(Box(0, 0, 50, 50))], top_k=2)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not image.any()  # the input is untouched
    assert (out[80, 100:160] == EMOTION_COLORS["happy"]).all(axis=-1).any()  # the box's top edge
    assert out[40:80, 100:160].any()  # the label block above the box
    assert not out[150:, 200:].any()  # nothing far from the faces


def test_no_faces_gives_an_identical_copy() -> None:
    image = np.full((20, 20, 3), 7, np.uint8)
    out = annotate(image, [])
    assert np.array_equal(out, image) and out is not image
