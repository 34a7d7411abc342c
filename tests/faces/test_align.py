from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from facemotion.faces import DEFAULT_MARGINS, crop_face, crop_faces, default_margin, eye_angle, to_gray
from facemotion.types import Box, Detection, Landmarks


def landmarks_with_eyes(right: tuple[float, float], left: tuple[float, float]) -> Landmarks:
    return Landmarks(right, left, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0))


def rotate(point: tuple[float, float], center: tuple[float, float], degrees: float) -> tuple[float, float]:
    a = math.radians(degrees)
    dx, dy = point[0] - center[0], point[1] - center[1]
    return center[0] + dx * math.cos(a) - dy * math.sin(a), center[1] + dx * math.sin(a) + dy * math.cos(a)


def test_eye_angle() -> None:
    assert eye_angle(landmarks_with_eyes((10, 50), (30, 50))) == pytest.approx(0.0)
    assert eye_angle(landmarks_with_eyes((10, 50), (30, 70))) == pytest.approx(45.0)
    assert eye_angle(landmarks_with_eyes((10, 50), (30, 30))) == pytest.approx(-45.0)


def test_plain_crop_matches_a_resized_region() -> None:
    rng = np.random.default_rng(0)
    gray = cv2.GaussianBlur(rng.integers(0, 256, (200, 300), dtype=np.uint8), (0, 0), 3)
    box = Box(100, 50, 96, 96)
    crop = crop_face(gray, Detection(box), margin=0.0)
    expected = cv2.resize(gray[50:146, 100:196], (48, 48), interpolation=cv2.INTER_AREA)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert np.abs(crop.astype(int) - expected.astype(int)).mean() < 2.0


def test_margin_widens_the_square_around_the_box() -> None:
    gray = np.zeros((300, 300), np.uint8)
    gray[100:200, 100:200] = 255  # the "face" is exactly the box
    box = Detection(Box(100, 100, 100, 100))
    assert crop_face(gray, box, margin=0.0).min() > 200
    crop = crop_face(gray, box, margin=0.25)  # side 150: the face covers the central 2/3
    assert crop[24, 24] > 200 and crop[2, 2] < 50 and crop[45, 24] < 50
    assert abs(int((crop > 127).sum()) - round(48 * 48 * (100 / 150) ** 2)) < 60


def test_tall_boxes_are_cropped_square_on_their_long_side() -> None:
    gray = np.zeros((300, 300), np.uint8)
    gray[100:200, 125:175] = 255  # a 50 x 100 box
    crop = crop_face(gray, Detection(Box(125, 100, 50, 100)), margin=0.0)
    assert crop[:, 24].min() > 200 and crop[24, 2] < 50 and crop[24, 45] < 50


@pytest.mark.parametrize("tilt", [-30.0, 20.0])
def test_alignment_levels_the_eyes(tilt: float) -> None:
    gray = np.full((240, 240), 40, np.uint8)
    center = (120.0, 120.0)
    right, left = rotate((95.0, 105.0), center, tilt), rotate((145.0, 105.0), center, tilt)
    for x, y in (right, left):
        cv2.circle(gray, (round(x), round(y)), 6, 255, -1)
    detection = Detection(Box(70, 70, 100, 100), landmarks=landmarks_with_eyes(right, left))

    def eye_rows(crop: np.ndarray) -> tuple[float, float]:
        ys, xs = np.nonzero(crop > 150)
        return ys[xs < 24].mean(), ys[xs >= 24].mean()

    aligned_right, aligned_left = eye_rows(crop_face(gray, detection, margin=0.0, align=True))
    assert abs(aligned_right - aligned_left) < 1.0
    raw_right, raw_left = eye_rows(crop_face(gray, detection, margin=0.0, align=False))
    assert abs(raw_right - raw_left) > 5.0


def test_large_faces_match_the_same_face_at_low_resolution() -> None:
    rng = np.random.default_rng(1)
    big = cv2.resize(rng.integers(0, 256, (60, 60), dtype=np.uint8), (1200, 1200), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(big, (120, 120), interpolation=cv2.INTER_AREA)
    lm_big = landmarks_with_eyes((400.0, 500.0), (800.0, 560.0))
    lm_small = landmarks_with_eyes((40.0, 50.0), (80.0, 56.0))
    crop_big = crop_face(big, Detection(Box(200, 200, 800, 800), landmarks=lm_big), margin=0.1)
    crop_small = crop_face(small, Detection(Box(20, 20, 80, 80), landmarks=lm_small), margin=0.1)
    assert np.abs(crop_big.astype(int) - crop_small.astype(int)).mean() < 6.0


def test_boxes_past_the_edge_repeat_the_border() -> None:
    gray = np.full((100, 100), 90, np.uint8)
    crop = crop_face(gray, Detection(Box(-30, 80, 60, 60)), margin=0.2)
    assert crop.shape == (48, 48) and (crop == 90).all()


def test_crop_faces_batches_and_handles_no_faces() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    assert crop_faces(image, [], margin=0.1).shape == (0, 48, 48)
    crops = crop_faces(image, [Detection(Box(0, 0, 50, 50)), Detection(Box(50, 50, 50, 50))], margin=0.1)
    assert crops.shape == (2, 48, 48) and crops.dtype == np.uint8


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="margin"):
        crop_face(np.zeros((10, 10), np.uint8), Detection(Box(0, 0, 5, 5)), margin=-0.1)
    with pytest.raises(ValueError, match="grayscale"):
        crop_face(np.zeros((10, 10, 3), np.uint8), Detection(Box(0, 0, 5, 5)), margin=0.0)


def test_to_gray_and_margins() -> None:
    image = np.zeros((2, 2, 3), np.uint8)
    image[..., 2] = 255  # pure red in BGR
    assert to_gray(image)[0, 0] == 76  # 0.299 * 255
    assert set(DEFAULT_MARGINS) >= {"yunet", "haar", "none", "boxes"}
    assert default_margin("none") == 0.0 and default_margin("custom") == DEFAULT_MARGINS["yunet"]
