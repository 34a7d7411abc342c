"""Face detectors behind one small interface: ``detect(bgr_image) -> list[Detection]``.

- ``yunet``: OpenCV's ``FaceDetectorYN`` with the YuNet ONNX model: accurate, scored, five landmarks.
- ``haar``: OpenCV's bundled frontal-face Haar cascade: always available offline, no score, no landmarks.
- ``none``: the whole image is one face, for callers whose images are already face crops.
- ``auto``: YuNet (the wheel ships its model), or Haar when an install has lost the model file.

Each image is scanned at a size chosen for the faces sought (boxes come back in the input's pixels): shrunk until a
``min_face_size`` face is the smallest face the detector finds (YuNet 12 px, Haar 24 px, its window, and Haar never
below 40 px input faces, where its hits are mostly false), and to at most ``max_side ** 2`` pixels (Haar
``min(max_side, 640) ** 2``) whatever the aspect ratio. Both detectors' time and memory grow with the scanned
pixels, so this bounds them: a 1,000,000x50 strip scans as fast as a photo. Each OpenCV detector object holds
per-call state, so every detector keeps a pool of them, one per concurrent caller, rather than one behind a lock.
"""

from __future__ import annotations

import difflib
import logging
import math
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, Protocol, TypeVar, runtime_checkable

import cv2
import numpy as np

from facemotion.checks import is_whole
from facemotion.defaults import DEFAULT_MIN_FACE_SIZE, DEFAULT_SCORE_THRESHOLD, DETECTORS
from facemotion.errors import FacemotionError, ImageError, ModelError
from facemotion.faces.yunet_model import YUNET_ENV, find_yunet_model
from facemotion.types import Box, BoxLike, Detection, Landmarks

__all__ = ["DETECTORS", "DEFAULT_MIN_FACE_SIZE", "DEFAULT_SCORE_THRESHOLD", "DEFAULT_MAX_SIDE", "FaceDetector",
           "YuNetDetector", "HaarDetector", "WholeImageDetector", "LimitedDetector", "create_detector",
           "detections_from_boxes",
           "check_bgr", "scan_scale"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = 1280
"""The scan holds at most ``max_side ** 2`` pixels (1.6 MP), whatever the image's aspect ratio."""
YUNET_SMALLEST_FACE = 12
"""Pixels: YuNet finds faces from about 10 px (OpenCV Zoo's model card); the scan puts ``min_face_size`` here."""
YUNET_MIN_INPUT = 64
"""Pixels: the scan is padded (black, below and right) to at least this on each side. OpenCV's YuNet reads
undefined memory when its input is at most one stride-32 cell high or wide: on a 24x2400 scan of noise it returned
"faces" scored 1.0 whose number and coordinates changed with ``cv2.setNumThreads``; from 33 pixels up, none."""
HAAR_WINDOW = 24
"""Pixels: the frontal-face cascade's window, the smallest face it can report in the scanned image."""
HAAR_SMALLEST_FACE = 40
"""Input pixels: Haar hits smaller than this were mostly background in the test photos, so Haar never looks below."""
HAAR_MAX_SIDE = 640
"""Haar scans at most ``HAAR_MAX_SIDE ** 2`` pixels: its cost per pixel is several times YuNet's."""
HAAR_OVERLAP = 0.3
"""Haar boxes overlapping a better one by more than this (intersection over the smaller box) are the same face."""

_T = TypeVar("_T")


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in a BGR uint8 ``(H, W, 3)`` image; boxes and landmarks in that image's pixels."""

    name: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        ...


def check_bgr(image: np.ndarray) -> np.ndarray:
    """Reject anything but a non-empty ``(H, W, 3)`` uint8 array, quoting what was received."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageError(f"expected a BGR uint8 image of shape (H, W, 3), got {got}; use load_image() first")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"the image is empty: shape {image.shape}")
    return image


def scan_scale(shape: Sequence[int], *, smallest_input_face: float, smallest_face: float, max_side: int) -> float:
    """The factor (<= 1) an image is scanned at: ``smallest_input_face`` input pixels become the detector's
    ``smallest_face`` scanned pixels, and the scan holds at most ``max_side ** 2`` pixels whatever the aspect ratio.

    0.0 when the scan would be too thin to hold a face of ``smallest_face`` pixels (a 1,000,000x50 strip): there is
    nothing to look at, and no pixel needs touching.
    """
    height, width = int(shape[0]), int(shape[1])
    scale = min(1.0, smallest_face / smallest_input_face)
    if max_side > 0:
        scale = min(scale, max_side / math.sqrt(height * width))
    return scale if min(height, width) * scale >= smallest_face else 0.0


def _scan(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _pad_to(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` grown with black below and to the right to at least ``side`` pixels each way: its pixels keep
    their coordinates, so boxes found in the result are boxes in ``image``."""
    height, width = image.shape[:2]
    if height >= side and width >= side:
        return image
    return cv2.copyMakeBorder(image, 0, max(side - height, 0), 0, max(side - width, 0), cv2.BORDER_CONSTANT, value=0)


class _Pool(Generic[_T]):
    """Reusable OpenCV detector objects, one per concurrent caller: made on demand, never shared at once.

    One object behind a lock made every thread wait for the slowest image (a server request on a huge image held
    up every other); a pool grows to the number of threads that detect at the same time and no further.
    """

    def __init__(self, factory: Callable[[], _T]) -> None:
        self._factory = factory
        self._idle: queue.SimpleQueue[_T] = queue.SimpleQueue()
        self._idle.put(factory())  # the first one now, so a bad model file fails in the constructor

    @contextmanager
    def take(self) -> Iterator[_T]:
        try:
            item = self._idle.get_nowait()
        except queue.Empty:
            item = self._factory()
        try:
            yield item
        finally:
            self._idle.put(item)


def _suppress_overlaps(boxes: np.ndarray, order: np.ndarray, overlap: float) -> list[int]:
    """Indices of ``boxes`` (x, y, w, h rows) kept, best first by ``order``: a box is dropped when its intersection
    with a kept one exceeds ``overlap`` of the smaller box (nested and offset duplicates of one face)."""
    kept: list[int] = []
    for i in order:
        x, y, w, h = boxes[i]
        duplicate = False
        for j in kept:
            kx, ky, kw, kh = boxes[j]
            iw = min(x + w, kx + kw) - max(x, kx)
            ih = min(y + h, ky + kh) - max(y, ky)
            if iw > 0 and ih > 0 and iw * ih > overlap * min(w * h, kw * kh):
                duplicate = True
                break
        if not duplicate:
            kept.append(int(i))
    return kept


def _finish(detections: list[Detection], shape: tuple[int, ...], min_face_size: int,
            max_faces: int | None) -> list[Detection]:
    """Drop faces under the minimum size or off the image, order best first (score, else area), keep ``max_faces``."""
    height, width = shape[:2]
    kept = [d for d in detections if min(d.box.w, d.box.h) >= min_face_size and d.box.clip(width, height).area > 0]
    kept.sort(key=lambda d: (-(d.score if d.score is not None else 0.0), -d.box.area))
    return kept[:max_faces] if max_faces is not None else kept


def _box_from_floats(x: float, y: float, w: float, h: float) -> Box:
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    return Box(int(x0), int(y0), int(max(x1 - x0, 0)), int(max(y1 - y0, 0)))


def _landmarks_fit(box: Box, points: np.ndarray, slack: float = 0.5) -> bool:
    """Whether all five landmarks lie within the box grown by ``slack`` of its size on every side.

    Real YuNet detections keep their landmarks inside the box (38 of 38 faces in the test photos, video and the
    demo portrait); a row whose landmarks stray far outside it is not a face.
    """
    if box.w <= 0 or box.h <= 0:
        return False
    nx = (points[:, 0] - box.x) / box.w
    ny = (points[:, 1] - box.y) / box.h
    return bool((nx >= -slack).all() and (nx <= 1 + slack).all() and (ny >= -slack).all() and (ny <= 1 + slack).all())


class YuNetDetector:
    """OpenCV's ``FaceDetectorYN`` with the YuNet model: a score in [0, 1] and five landmarks per face."""

    name = "yunet"

    def __init__(self, model_path: str | Path | None = None, *, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                 nms_threshold: float = 0.3, min_face_size: int = DEFAULT_MIN_FACE_SIZE,
                 max_faces: int | None = None, max_side: int = DEFAULT_MAX_SIDE) -> None:
        path = find_yunet_model(model_path)
        if path is None:
            raise ModelError(f"the YuNet model is not installed: run `facemotion download-models`, pass its path "
                             f"(--detector-model / model_path=) or set ${YUNET_ENV}; or use the haar detector")
        if not 0.0 <= score_threshold <= 1.0:
            raise FacemotionError(f"score_threshold must be in [0, 1], got {score_threshold}")
        self.model_path = path
        self.score_threshold = score_threshold
        self.min_face_size = min_face_size
        self.max_faces = max_faces
        self.max_side = max_side

        def new_net() -> cv2.FaceDetectorYN:
            return cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, nms_threshold, 5000)

        try:
            self._nets = _Pool(new_net)  # each net holds its input size: one image at a time per net
        except cv2.error as exc:
            raise ModelError(f"{path}: not a YuNet model that OpenCV {cv2.__version__} can load ({exc})") from exc

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in a BGR image, best score first."""
        if min(check_bgr(image).shape[:2]) < self.min_face_size:
            return []  # no room for a face; YuNet also returns garbage on 1-pixel strips
        scale = scan_scale(image.shape, smallest_input_face=self.min_face_size, smallest_face=YUNET_SMALLEST_FACE,
                           max_side=self.max_side)
        if scale == 0.0:
            return []
        small = _pad_to(_scan(image, scale), YUNET_MIN_INPUT)
        with self._nets.take() as net:
            net.setInputSize((small.shape[1], small.shape[0]))
            _, rows = net.detect(small)
        detections = []
        for row in rows if rows is not None else ():
            row = row.astype(np.float64) / np.r_[np.full(14, scale), 1.0]
            if not (np.isfinite(row).all() and np.abs(row[:14]).max() < 10 * max(image.shape[:2])):
                continue  # degenerate inputs (e.g. a 1-pixel-high strip) give garbage rows
            box = _box_from_floats(*row[:4])
            points = row[4:14].reshape(5, 2)
            if not _landmarks_fit(box, points):
                continue  # seen on thin noise strips: a "face" scored 0.99999 with its mouth 6 box-widths away
            detections.append(Detection(box, float(row[14]), Landmarks.from_points(points)))
        return _finish(detections, image.shape, self.min_face_size, self.max_faces)


class HaarDetector:
    """OpenCV's bundled frontal-face Haar cascade: the offline default; no score and no landmarks."""

    name = "haar"

    def __init__(self, cascade: str | Path | None = None, *, min_face_size: int = DEFAULT_MIN_FACE_SIZE,
                 max_faces: int | None = None, scale_factor: float = 1.2, min_neighbors: int = 5,
                 max_side: int = DEFAULT_MAX_SIDE) -> None:
        if cascade is None:
            haar_dir = getattr(getattr(cv2, "data", None), "haarcascades", None)
            if haar_dir is None:
                raise ModelError("this OpenCV build ships no Haar cascades (cv2.data); install "
                                 "opencv-python-headless or pass a cascade file")
            cascade = Path(haar_dir) / "haarcascade_frontalface_default.xml"
        self.cascade_path = Path(cascade)

        def new_cascade() -> cv2.CascadeClassifier:
            loaded = cv2.CascadeClassifier(str(self.cascade_path))
            if loaded.empty():
                raise ModelError(f"{self.cascade_path}: not a Haar cascade OpenCV can load")
            return loaded

        self._cascades = _Pool(new_cascade)
        self.min_face_size = min_face_size
        self.max_faces = max_faces
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in a BGR image, largest first, overlapping duplicates of one face removed.

        The defaults (scale step 1.2, 5 neighbours, faces from 40 px, a 640x640-pixel scan) were chosen on the
        photos of ``benchmarks/bench_vs_fer.py``: as many faces as OpenCV's usual 1.1 step at full size, fewer
        false ones, several times less work.
        """
        if min(check_bgr(image).shape[:2]) < self.min_face_size:
            return []
        max_side = min(self.max_side, HAAR_MAX_SIDE) if self.max_side > 0 else HAAR_MAX_SIDE
        scale = scan_scale(image.shape, smallest_input_face=max(self.min_face_size, HAAR_SMALLEST_FACE),
                           smallest_face=HAAR_WINDOW, max_side=max_side)
        if scale == 0.0:
            return []
        gray = cv2.cvtColor(_scan(image, scale), cv2.COLOR_BGR2GRAY)
        with self._cascades.take() as cascade:
            found, neighbours = cascade.detectMultiScale2(gray, scaleFactor=self.scale_factor,
                                                          minNeighbors=self.min_neighbors,
                                                          minSize=(HAAR_WINDOW, HAAR_WINDOW))
        if len(found) == 0:
            return []
        boxes = np.asarray(found, np.float64).reshape(-1, 4)
        order = np.lexsort((-boxes[:, 2], -np.asarray(neighbours).reshape(-1)))  # most neighbours, then largest
        kept = _suppress_overlaps(boxes, order, HAAR_OVERLAP)
        detections = [Detection(_box_from_floats(*(boxes[i] / scale))) for i in kept]
        return _finish(detections, image.shape, self.min_face_size, self.max_faces)


class WholeImageDetector:
    """Treats the whole image as one face: for images that are already face crops."""

    name = "none"

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = check_bgr(image).shape[:2]
        return [Detection(Box(0, 0, width, height))]


def detections_from_boxes(boxes: Iterable[BoxLike], image_shape: Sequence[int]) -> list[Detection]:
    """User-given boxes as detections (no score, no landmarks), clipped to the image; a box wholly outside it is an
    error. Clipping bounds the work: a 30000x30000 box on a small photo would pad a 2 GB canvas to crop it."""
    height, width = int(image_shape[0]), int(image_shape[1])
    detections = []
    for i, value in enumerate(boxes):
        box = Box.of(value)
        clipped = box.clip(width, height)
        if clipped.area == 0:
            raise FacemotionError(f"box {i} {box.to_tuple()} lies outside the {width}x{height} image")
        detections.append(Detection(clipped))
    return detections


class LimitedDetector:
    """A :class:`FaceDetector` object with the size, score and count limits a named detector takes as arguments.

    :func:`create_detector` (and so ``Recognizer(detector=my_detector, max_faces=1)``) wraps a detector object in
    one when any of the limits is given, rather than ignore them: faces under ``min_face_size`` pixels or scored
    under ``score_threshold`` (a face without a score is kept) are dropped, the rest ordered best first and cut to
    ``max_faces``. ``name`` is the base detector's, so the crop margin is that of its detections.
    """

    def __init__(self, base: FaceDetector, *, min_face_size: int | None = None, score_threshold: float | None = None,
                 max_faces: int | None = None) -> None:
        self.base = base
        self.name = base.name
        self.min_face_size = min_face_size
        self.score_threshold = score_threshold
        self.max_faces = max_faces

    def __repr__(self) -> str:
        return (f"LimitedDetector({self.base!r}, min_face_size={self.min_face_size}, "
                f"score_threshold={self.score_threshold}, max_faces={self.max_faces})")

    def detect(self, image: np.ndarray) -> list[Detection]:
        threshold = self.score_threshold
        found = [d for d in self.base.detect(image) if threshold is None or d.score is None or d.score >= threshold]
        return _finish(found, image.shape, self.min_face_size or 1, self.max_faces)


def create_detector(name: str | FaceDetector = "auto", *, model_path: str | Path | None = None,
                    score_threshold: float | None = None, min_face_size: int | None = None,
                    max_faces: int | None = None, max_side: int = DEFAULT_MAX_SIDE) -> FaceDetector:
    """A detector by name (``auto``, ``yunet``, ``haar``, ``none``), or the detector object given.

    ``auto`` picks YuNet when its model file can be found (see :func:`find_yunet_model`; the wheel ships one), else
    Haar, and logs which at debug level (``facemotion predict --verbose`` shows it). ``min_face_size`` and
    ``score_threshold`` default to :data:`DEFAULT_MIN_FACE_SIZE` and :data:`DEFAULT_SCORE_THRESHOLD` for a named
    detector; a detector object is returned unchanged when none of the three limits is given, and wrapped in a
    :class:`LimitedDetector` that applies them when any is (never silently ignored).
    """
    if min_face_size is not None and not is_whole(min_face_size):
        raise FacemotionError(f"min_face_size must be a whole number of pixels >= 1, got {min_face_size!r}")
    if max_faces is not None and not is_whole(max_faces):
        raise FacemotionError(f"max_faces must be a whole number >= 1 (or None for no limit), got {max_faces!r}")
    if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
        raise FacemotionError(f"score_threshold must be in [0, 1], got {score_threshold}")
    if not isinstance(name, str):
        if not isinstance(name, FaceDetector):
            raise FacemotionError(f"detector must be a name {DETECTORS} or a FaceDetector, got {type(name).__name__}")
        if min_face_size is None and score_threshold is None and max_faces is None:
            return name
        return LimitedDetector(name, min_face_size=min_face_size, score_threshold=score_threshold,
                               max_faces=max_faces)
    min_face_size = DEFAULT_MIN_FACE_SIZE if min_face_size is None else min_face_size
    score_threshold = DEFAULT_SCORE_THRESHOLD if score_threshold is None else score_threshold
    key = name.lower()
    if key == "auto":
        path = find_yunet_model(model_path)
        if path is not None:
            logger.debug("face detector: yunet (%s)", path)
            key = "yunet"
        else:
            logger.debug("face detector: haar (this install has lost its YuNet model; `facemotion download-models` "
                         "installs one)")
            key = "haar"
    if key == "yunet":
        return YuNetDetector(model_path, score_threshold=score_threshold, min_face_size=min_face_size,
                             max_faces=max_faces, max_side=max_side)
    if key == "haar":
        return HaarDetector(min_face_size=min_face_size, max_faces=max_faces, max_side=max_side)
    if key == "none":
        return WholeImageDetector()
    close = difflib.get_close_matches(key, DETECTORS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FacemotionError(f"unknown detector {name!r}: expected one of {', '.join(DETECTORS)}{hint}")
