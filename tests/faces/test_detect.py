from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facemotion.errors import FacemotionError, ImageError, ModelError
from facemotion.faces import (
    FaceDetector,
    HaarDetector,
    WholeImageDetector,
    YuNetDetector,
    create_detector,
    detections_from_boxes,
)
from facemotion.types import Box


@pytest.fixture
def no_yunet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No YuNet anywhere: no env var, and the (per-test, empty) cache dir from conftest."""
    monkeypatch.delenv("FACEMOTION_YUNET_MODEL", raising=False)


def test_auto_falls_back_to_haar_without_yunet(no_yunet: None) -> None:
    detector = create_detector("auto")
    assert isinstance(detector, HaarDetector) and detector.name == "haar"


def test_auto_picks_yunet_from_env(monkeypatch: pytest.MonkeyPatch, yunet_path: Path) -> None:
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(yunet_path))
    assert create_detector("auto").name == "yunet"


def test_auto_picks_yunet_from_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, yunet_path: Path,
                                     no_yunet: None) -> None:
    monkeypatch.setenv("FACEMOTION_CACHE", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / yunet_path.name).write_bytes(yunet_path.read_bytes())
    assert create_detector("auto").name == "yunet"


def test_auto_logs_its_choice(no_yunet: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG", logger="facemotion.faces.detect"):
        create_detector("auto")
    assert "face detector: haar" in caplog.text and "download-models" in caplog.text


def test_yunet_missing_model_says_how_to_get_it(no_yunet: None) -> None:
    with pytest.raises(ModelError, match="download-models"):
        create_detector("yunet")


def test_explicit_or_env_model_path_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such YuNet model"):
        create_detector("yunet", model_path=tmp_path / "missing.onnx")
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelError, match="FACEMOTION_YUNET_MODEL"):
        create_detector("auto")


def test_yunet_rejects_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="not a YuNet model"):
        YuNetDetector(bogus)


def test_unknown_detector_suggests_the_closest_name() -> None:
    with pytest.raises(FacemotionError, match="did you mean 'yunet'"):
        create_detector("yunett")


@pytest.mark.parametrize("kwargs", [{"min_face_size": 0}, {"max_faces": 0}])
def test_bad_options_are_rejected(kwargs: dict) -> None:
    with pytest.raises(FacemotionError):
        create_detector("haar", **kwargs)


def test_detector_objects_pass_through_and_satisfy_the_protocol() -> None:
    detector = WholeImageDetector()
    assert create_detector(detector) is detector
    assert isinstance(HaarDetector(), FaceDetector)


def test_whole_image_detector_is_one_full_box() -> None:
    [detection] = WholeImageDetector().detect(np.zeros((30, 40, 3), np.uint8))
    assert detection.box == Box(0, 0, 40, 30) and detection.score is None and detection.landmarks is None


@pytest.mark.parametrize("image", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32),
                                   np.zeros((0, 10, 3), np.uint8), "photo.jpg"])
def test_detectors_reject_non_bgr_input(image: object) -> None:
    with pytest.raises(ImageError):
        HaarDetector().detect(image)  # type: ignore[arg-type]


def test_haar_finds_nothing_in_a_flat_image() -> None:
    assert HaarDetector().detect(np.full((200, 200, 3), 128, np.uint8)) == []


def test_boxes_become_detections() -> None:
    detections = detections_from_boxes([(1, 2, 3, 4), {"x": 5, "y": 6, "w": 7, "h": 8}, Box(0, 0, 9, 9)], (50, 50))
    assert [d.box.to_tuple() for d in detections] == [(1, 2, 3, 4), (5, 6, 7, 8), (0, 0, 9, 9)]
    assert all(d.score is None and d.landmarks is None for d in detections)


@pytest.mark.parametrize("box", [(100, 100, 10, 10), (0, 0, 0, 5), (1, 2, 3), "1,2,3,4", (1, 2, float("nan"), 4)])
def test_bad_boxes_are_errors(box: object) -> None:
    with pytest.raises(FacemotionError):
        detections_from_boxes([box], (50, 50))  # type: ignore[list-item]


@pytest.mark.integration
@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_shared_photos(name: str, media_dir: Path, yunet_path: Path) -> None:
    detector = create_detector(name, model_path=yunet_path)
    [justin] = detector.detect(cv2.imread(str(media_dir / "justin.jpg")))
    assert 60 < justin.box.w < 250 and 60 < justin.box.h < 250
    if name == "yunet":
        assert justin.score is not None and 0.6 <= justin.score <= 1.0
        assert justin.landmarks is not None
        right_eye, left_eye = justin.landmarks.right_eye, justin.landmarks.left_eye
        assert right_eye[0] < left_eye[0]  # the person's right eye is on the image's left
        assert justin.box.x < right_eye[0] < justin.box.x + justin.box.w
    else:
        assert justin.score is None and justin.landmarks is None
    assert detector.detect(cv2.imread(str(media_dir / "no-faces.jpg"))) == []
    group = detector.detect(cv2.imread(str(media_dir / "solvay_conference.jpg")))
    assert len(group) >= 5
    scores = [d.score for d in group]
    assert scores == sorted(scores, reverse=True) if name == "yunet" else all(s is None for s in scores)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["yunet", "haar"])
@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 5, 3), (2000, 3, 3), (3, 3000, 3), (20, 3000, 3), (40, 4000, 3)])
def test_degenerate_image_sizes_give_no_faces(name: str, shape: tuple[int, int, int], yunet_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert create_detector(name, model_path=yunet_path).detect(image) == []


@pytest.mark.integration
def test_max_faces_and_min_face_size(media_dir: Path, yunet_path: Path) -> None:
    group = cv2.imread(str(media_dir / "solvay_conference.jpg"))
    assert len(create_detector("yunet", model_path=yunet_path, max_faces=2).detect(group)) == 2
    assert create_detector("haar", min_face_size=300).detect(group) == []


@pytest.mark.integration
@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_large_images_are_scanned_smaller_and_boxes_come_back_in_input_pixels(name: str, media_dir: Path,
                                                                              yunet_path: Path) -> None:
    image = cv2.imread(str(media_dir / "justin.jpg"))
    big = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_LINEAR)
    [small_face] = create_detector(name, model_path=yunet_path).detect(image)
    [big_face] = create_detector(name, model_path=yunet_path, max_side=400).detect(big)
    for a, b in zip(small_face.box.to_tuple(), big_face.box.to_tuple()):
        assert abs(3 * a - b) <= 0.08 * 3 * max(small_face.box.w, small_face.box.h)


class _RowsNet:
    """Stands in for OpenCV's FaceDetectorYN: returns fixed output rows."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def setInputSize(self, size: tuple[int, int]) -> None:  # noqa: N802 - OpenCV's name
        pass

    def detect(self, image: np.ndarray) -> tuple[int, np.ndarray]:
        return 1, self.rows


@pytest.mark.integration
def test_yunet_drops_rows_whose_landmarks_leave_the_box(yunet_path: Path) -> None:
    face = [100, 100, 50, 60, 115, 120, 135, 120, 125, 135, 117, 150, 133, 150, 0.95]
    # a row OpenCV once returned for a 20x3000 noise strip: a 22x24 box, landmarks up to 140 pixels to its right
    garbage = [636, -6, 22, 24, 666, 2, 700, 5, 690, 12, 715, 21, 800, 39, 0.99999]
    detector = create_detector("yunet", model_path=yunet_path)
    detector._net = _RowsNet(np.array([garbage, face], dtype=np.float32))
    found = detector.detect(np.zeros((300, 1000, 3), np.uint8))
    assert [d.box.to_tuple() for d in found] == [(100, 100, 50, 60)]
