from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemotion.errors import FacemotionError, ImageError, ModelError
from facemotion.faces import create_detector, detections_from_boxes, yunet_model
from facemotion.faces.detect import (
    YUNET_MIN_INPUT,
    FaceDetector,
    HaarDetector,
    WholeImageDetector,
    YuNetDetector,
    _pad_to,
    _Pool,
    _suppress_overlaps,
    scan_scale,
)
from facemotion.types import Box


@pytest.fixture
def plain_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a fresh ``pip install`` sees: no env var, and the (per-test, empty) cache dir from conftest."""
    monkeypatch.delenv("FACEMOTION_YUNET_MODEL", raising=False)


@pytest.fixture
def no_yunet(plain_install: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No YuNet anywhere: a plain install that has also lost its packaged copy."""
    monkeypatch.setattr(yunet_model, "PACKAGED_YUNET", tmp_path / "lost.onnx")


def test_auto_is_yunet_on_a_plain_install_offline(plain_install: None) -> None:
    detector = create_detector("auto")
    assert isinstance(detector, YuNetDetector) and detector.model_path == yunet_model.PACKAGED_YUNET


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


def test_auto_logs_its_choice(plain_install: None, caplog: pytest.LogCaptureFixture,
                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with caplog.at_level("DEBUG", logger="facemotion.faces.detect"):
        create_detector("auto")
    assert "face detector: yunet" in caplog.text
    monkeypatch.setattr(yunet_model, "PACKAGED_YUNET", tmp_path / "lost.onnx")
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
    detector = create_detector("yunet", model_path=yunet_path, min_face_size=12)  # scanned at full size
    detector._nets = _Pool(lambda: _RowsNet(np.array([garbage, face], dtype=np.float32)))
    found = detector.detect(np.zeros((300, 1000, 3), np.uint8))
    assert [d.box.to_tuple() for d in found] == [(100, 100, 50, 60)]


class _SizeRecordingNet(_RowsNet):
    """A stand-in net that remembers the input size it was given and the image it was shown."""

    def __init__(self) -> None:
        super().__init__(np.zeros((0, 15), np.float32))
        self.sizes: list[tuple[int, int]] = []
        self.shapes: list[tuple[int, ...]] = []

    def setInputSize(self, size: tuple[int, int]) -> None:  # noqa: N802 - OpenCV's name
        self.sizes.append(size)

    def detect(self, image: np.ndarray) -> tuple[int, np.ndarray]:
        self.shapes.append(image.shape)
        return super().detect(image)


@pytest.mark.integration
@pytest.mark.parametrize("shape", [(40, 4000, 3), (4000, 40, 3), (30, 30, 3)])
def test_yunet_never_sees_an_input_under_64_pixels_a_side(shape: tuple[int, int, int], yunet_path: Path) -> None:
    """OpenCV's YuNet returns rows of undefined memory for inputs one stride-32 cell high (a 40x4000 strip scans
    at 24x2400): the scan is padded instead."""
    net = _SizeRecordingNet()
    detector = create_detector("yunet", model_path=yunet_path)
    detector._nets = _Pool(lambda: net)
    detector.detect(np.full(shape, 128, np.uint8))
    [(width, height)] = net.sizes
    assert min(width, height) >= 64
    assert net.shapes == [(height, width, 3)]


@pytest.mark.integration
@pytest.mark.parametrize("threads", [0, 1, 4])
def test_padded_noise_strips_give_yunet_no_rows_at_any_opencv_thread_count(threads: int, yunet_path: Path) -> None:
    """Unpadded, these scans gave rows scored 1.0 that changed with the thread count (caught by the row filters,
    once not); padded, the net itself finds nothing."""
    net = cv2.FaceDetectorYN.create(str(yunet_path), "", (320, 320), 0.6, 0.3, 5000)
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        for shape in [(12, 1800, 3), (24, 2400, 3), (32, 2400, 3), (2400, 24, 3)]:
            scan = _pad_to(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8), YUNET_MIN_INPUT)
            net.setInputSize((scan.shape[1], scan.shape[0]))
            assert net.detect(scan)[1] is None, shape
    finally:
        cv2.setNumThreads(before)


# --- bounded work whatever the image's shape, and no global lock (issue 14, row 1) --------------------------------

@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_a_1000000x50_strip_is_not_scanned(name: str) -> None:
    """A 48 KB PNG of 1,000,000x50 pixels took 19 s and 5.2 GB: no face fits its scan, so no pixel is touched.

    A zero-stride view stands in for the decoded image: reading its pixels would still cost the full scan.
    """
    strip = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (50, 1_000_000, 3))
    start = time.perf_counter()
    assert create_detector(name).detect(strip) == []
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("shape", [(50, 1_000_000), (7000, 7000), (64, 200_000), (10_000, 5_000), (2000, 3)])
@pytest.mark.parametrize("smallest, max_side", [(12, 1280), (24, 640)])
def test_the_scan_is_bounded_by_pixels_whatever_the_aspect_ratio(shape: tuple[int, int], smallest: int,
                                                                  max_side: int) -> None:
    scale = scan_scale(shape, smallest_input_face=20, smallest_face=smallest, max_side=max_side)
    assert 0.0 <= scale <= 1.0
    assert shape[0] * shape[1] * scale**2 <= max_side**2 * 1.0001
    assert scale == 0.0 or min(shape) * scale >= smallest


def test_the_scan_puts_the_smallest_face_at_the_detectors_smallest() -> None:
    assert scan_scale((384, 381), smallest_input_face=20, smallest_face=12, max_side=1280) == pytest.approx(0.6)
    assert scan_scale((384, 381), smallest_input_face=10, smallest_face=12, max_side=1280) == 1.0  # never enlarged
    assert scan_scale((720, 1280), smallest_input_face=32, smallest_face=24, max_side=640) == pytest.approx(
        640 / (720 * 1280) ** 0.5)


def test_the_pool_gives_concurrent_callers_their_own_object() -> None:
    made: list[object] = []
    pool = _Pool(lambda: made.append(object()) or made[-1])
    barrier = threading.Barrier(3)
    held: list[object] = []

    def worker() -> None:
        with pool.take() as item:
            held.append(item)
            barrier.wait(timeout=5)  # all three hold one at once: a single lock would deadlock here

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(map(id, held))) == 3 and len(made) == 3
    with pool.take() as again:
        assert again in made  # reused afterwards, not made anew


def test_yunet_from_threads_matches_serial(media_dir: Path) -> None:
    detector = create_detector("yunet")
    image = cv2.imread(str(media_dir / "solvay_conference.jpg"))
    serial = [d.box for d in detector.detect(image)]
    results: list[list[Box]] = []

    def worker() -> None:
        results.append([d.box for d in detector.detect(image)])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [serial] * 4


# --- the Haar path: overlapping boxes of one face are merged (issue 14) ---------------------------------------

def test_overlapping_boxes_keep_the_best() -> None:
    boxes = np.array([[100, 100, 80, 80], [110, 105, 60, 60], [300, 100, 80, 80], [150, 150, 80, 80]], np.float64)
    # nested in the first; disjoint; offset from the first by half its size (overlap 0.25 of a box: kept)
    assert _suppress_overlaps(boxes, np.array([0, 1, 2, 3]), 0.3) == [0, 2, 3]
    assert _suppress_overlaps(boxes, np.array([1, 0, 2, 3]), 0.3) == [1, 2, 3]


@pytest.mark.integration
def test_haar_gives_one_box_per_face_in_the_shared_photos(media_dir: Path) -> None:
    for name in ("justin.jpg", "solvay_conference.jpg"):
        found = HaarDetector().detect(cv2.imread(str(media_dir / name)))
        boxes = np.array([d.box.to_tuple() for d in found], np.float64)
        assert _suppress_overlaps(boxes, np.arange(len(boxes)), 0.3) == list(range(len(boxes)))
