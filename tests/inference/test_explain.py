"""Heatmaps in the torch-free runtime: labels asked for, placement in the photo, JSON form, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facemotion.errors import FacemotionError, ModelError
from facemotion.faces.align import crop_to_image
from facemotion.inference.annotate import annotate, draw_heatmaps
from facemotion.inference.backends import OnnxClassifier
from facemotion.inference.explain import explain_labels, heatmap_bounds, render_heatmap
from facemotion.inference.recognizer import Recognizer
from facemotion.labels import EMOTIONS
from facemotion.types import Box, Detection, Landmarks


def photo_with_bright_corner() -> np.ndarray:
    """A dark 200x160 photo whose face box (40, 50, 96, 96) is bright in its top-left quarter only."""
    image = np.full((200, 160, 3), 30, np.uint8)
    image[50:98, 40:88] = 230
    return image


def test_explain_labels() -> None:
    assert explain_labels(False, EMOTIONS) is None
    assert explain_labels(True, EMOTIONS) == "top" == explain_labels("top", EMOTIONS)
    assert explain_labels("all", EMOTIONS) == EMOTIONS
    assert explain_labels(["sad", "happy"], EMOTIONS) == ("sad", "happy")
    with pytest.raises(FacemotionError, match="unknown label.*'joy'"):
        explain_labels(["happy", "joy"], EMOTIONS)


def test_classifier_maps_average_to_the_logits(explaining_onnx: Path) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    classifier = OnnxClassifier(explaining_onnx)
    probs, maps = classifier.explain(crops)
    assert maps.shape == (3, 7, 6, 6)
    np.testing.assert_allclose(probs, classifier.predict_proba(crops), atol=1e-6)
    logits = maps.mean(axis=(2, 3))
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(1, keepdims=True), probs, atol=1e-5)


def test_recognizer_places_the_hot_region_on_the_photo(explaining_onnx: Path) -> None:
    recognizer = Recognizer(str(explaining_onnx), detector="none")
    face = recognizer.predict(photo_with_bright_corner(), boxes=[(40, 50, 96, 96)], explain="neutral")[0]
    assert list(face.heatmap.maps) == ["neutral"] and face.heatmap.size == (6, 6)
    np.testing.assert_allclose(face.heatmap.matrix, [[16, 0, 40], [0, 16, 50]], atol=1e-9)  # 6 cells over 96 px
    heat = render_heatmap(face.heatmap, "neutral", 160, 200)
    assert heat[60:90, 45:80].mean() > 0.9 and heat[110:140, 100:130].mean() < 0.1  # bright quarter is hot
    assert heat[:50].max() == 0 and heat[:, :40].max() == 0  # nothing outside the crop
    assert heatmap_bounds(face.heatmap, 160, 200) == (40, 50, 136, 146)


def test_top_and_all_labels_and_the_json_form(explaining_onnx: Path) -> None:
    recognizer = Recognizer(str(explaining_onnx), detector="none")
    image = photo_with_bright_corner()
    plain = recognizer.predict(image, boxes=[(40, 50, 96, 96)])[0]
    assert plain.heatmap is None and "heatmap" not in plain.to_dict()
    top = recognizer.predict(image, boxes=[(40, 50, 96, 96)], explain=True)[0]
    assert list(top.heatmap.maps) == [top.emotion] and top.probabilities == plain.probabilities
    every = recognizer.predict(image, boxes=[(40, 50, 96, 96)], explain="all")[0]
    record = json.loads(json.dumps(every.to_dict()))
    assert list(record["heatmap"]) == ["size", "matrix", "maps"]
    assert record["heatmap"]["size"] == [6, 6] and list(record["heatmap"]["maps"]) == list(EMOTIONS)
    assert np.asarray(record["heatmap"]["maps"]["neutral"]).shape == (6, 6)
    batch = recognizer.predict_batch([image, b"not an image", image], boxes=[[(40, 50, 96, 96)], None, None],
                                     explain="all")
    assert batch[0].faces[0].heatmap == every.heatmap and not batch[1].ok and batch[2].faces[0].heatmap is not None


def test_rotated_faces_map_through_the_alignment() -> None:
    tilted = Detection(Box(100, 100, 80, 80), landmarks=Landmarks.from_points(
        [(120, 120), (160, 160), (140, 150), (125, 165), (155, 165)]))  # eye line at 45 degrees
    matrix = crop_to_image(tilted, margin=0.0, align=True)
    centre = matrix @ np.array([24.0, 24.0, 1.0])
    np.testing.assert_allclose(centre, (140, 140), atol=1e-9)  # crop centre -> box centre
    x_axis = matrix[:, 0] / np.linalg.norm(matrix[:, 0])
    np.testing.assert_allclose(x_axis, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-9)  # crop x follows the eyes
    np.testing.assert_allclose(np.linalg.norm(matrix[:, 0]), 80 / 48)


def test_annotate_blends_heatmaps_only_when_asked(explaining_onnx: Path) -> None:
    recognizer = Recognizer(str(explaining_onnx), detector="none")
    image = photo_with_bright_corner()
    faces = recognizer.predict(image, boxes=[(40, 50, 96, 96)], explain=True)
    blended = draw_heatmaps(image, faces)
    assert not np.array_equal(blended[50:98, 40:88], image[50:98, 40:88])
    assert np.array_equal(blended[:50], image[:50])
    assert np.array_equal(annotate(image, faces), annotate(image, faces, heatmaps=False))
    assert not np.array_equal(annotate(image, faces), annotate(image, faces, heatmaps=True))


def test_a_model_without_heatmaps_says_how_to_re_export(brightness_onnx: Path) -> None:
    recognizer = Recognizer(str(brightness_onnx), detector="none")
    image = photo_with_bright_corner()
    assert recognizer.predict(image)  # explain=False still works
    with pytest.raises(ModelError, match=r"exported before heatmaps.*facemotion export --model"):
        recognizer.predict(image, explain=True)
    with pytest.raises(FacemotionError, match="unknown label"):
        recognizer.predict(image, explain="joy")


def test_a_classifier_without_explain_is_refused() -> None:
    class Plain:
        def predict_proba(self, crops: np.ndarray) -> np.ndarray:
            return np.full((len(crops), 7), 1 / 7, np.float32)

    with pytest.raises(ModelError, match="gives no heatmaps"):
        Recognizer(Plain(), detector="none").predict(photo_with_bright_corner(), explain=True)
