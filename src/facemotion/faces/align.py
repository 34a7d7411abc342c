"""Turn detections into what the classifier was trained on: upright, FER2013-framed, 48x48 grayscale crops.

The crop is a square around the box centre, ``max(w, h) * (1 + 2 * margin)`` pixels on a side, rotated so the eyes
are level when the detector gives eye landmarks. FER2013 faces fill the frame, forehead and chin just cut; each
detector frames a face differently, so the margin that reproduces FER2013's framing is measured per detector with
``benchmarks/crop_margin.py`` (re-detect faces in upscaled FER2013 validation images, classify the crops at each
margin, keep the most accurate) and recorded in :data:`DEFAULT_MARGINS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from facemotion.faces.detect import check_bgr
from facemotion.labels import IMAGE_SIZE
from facemotion.types import Detection, Landmarks

__all__ = ["DEFAULT_MARGINS", "default_margin", "eye_angle", "face_matrix", "crop_geometry", "crop_to_image",
           "crop_face", "crop_faces", "to_gray"]

DEFAULT_MARGINS: dict[str, float] = {"yunet": 0.025, "haar": 0.05, "none": 0.0, "boxes": 0.0}
"""Margin per detector name, as a fraction of the box's long side added on every side. Measured on 1,000 FER2013
PublicTest faces (docs/inference.md): the original frame is the detector box plus a median 0.016 (YuNet) and 0.011
(Haar); classification accuracy plateaus between -0.05 and 0.05 and peaks at 0.025 (YuNet, aligned) and 0.05 (Haar).
User boxes and ``none`` are taken as the frame itself."""


def default_margin(detector_name: str) -> float:
    """The measured margin for a detector name; an unknown (user-written) detector gets YuNet's."""
    return DEFAULT_MARGINS.get(detector_name, DEFAULT_MARGINS["yunet"])


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR uint8 ``(H, W, 3)`` -> grayscale ``(H, W)`` with the usual luma weights (as FER2013 was made)."""
    return cv2.cvtColor(check_bgr(image), cv2.COLOR_BGR2GRAY)


def eye_angle(landmarks: Landmarks) -> float:
    """Degrees the eye line is tilted, clockwise on screen (image y points down); 0 when the eyes are level."""
    (rx, ry), (lx, ly) = landmarks.right_eye, landmarks.left_eye
    return math.degrees(math.atan2(ly - ry, lx - rx))


def face_matrix(center: tuple[float, float], side: float, *, angle: float = 0.0, size: int = IMAGE_SIZE) -> np.ndarray:
    """The 2x3 affine matrix mapping crop pixels to image pixels (``cv2.WARP_INVERSE_MAP`` convention).

    The crop is the square of ``side`` image pixels around ``center``, ``size`` pixels on a side; its x axis follows
    the eye line (``angle`` degrees), so a tilted face comes out upright.
    """
    k = side / size  # image pixels per crop pixel
    cos, sin = math.cos(math.radians(angle)) * k, math.sin(math.radians(angle)) * k
    offset = 0.5 - size / 2.0  # crop pixel centres, measured from the crop centre
    cx, cy = center
    return np.array([[cos, -sin, cx - 0.5 + (cos - sin) * offset],
                     [sin, cos, cy - 0.5 + (sin + cos) * offset]], np.float64)


def crop_geometry(detection: Detection, *, margin: float,
                  align: bool = True) -> tuple[tuple[float, float], float, float]:
    """The crop's square in image pixels: its centre, its side and its rotation in degrees (the eye line's)."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    box = detection.box
    angle = eye_angle(detection.landmarks) if align and detection.landmarks is not None else 0.0
    return box.center, max(box.w, box.h) * (1.0 + 2.0 * margin), angle


def crop_to_image(detection: Detection, *, margin: float, align: bool = True, size: int = IMAGE_SIZE) -> np.ndarray:
    """The 2x3 affine from a crop's continuous coordinates (corners at 0 and ``size``) to the image's.

    Continuous means pixel ``i`` spans ``[i, i + 1)``, the convention of an HTML canvas transform; it lets anything
    computed on the crop (a heatmap) be drawn back onto the photo, rotation included.
    """
    center, side, angle = crop_geometry(detection, margin=margin, align=align)
    matrix = face_matrix(center, side, angle=angle, size=size)
    matrix[:, 2] += 0.5 - matrix[:, :2].sum(axis=1) * 0.5  # pixel centres -> pixel corners, on both sides
    return matrix


def _shrink_region(gray: np.ndarray, center: tuple[float, float], side: float,
                   target: float) -> tuple[np.ndarray, tuple[float, float], float]:
    """The neighbourhood of a large face, area-shrunk so the face is about ``target`` pixels: cheap and alias-free.

    Returns the patch and the face's centre and side in the patch's pixels. The patch reaches 0.75 * side from the
    centre, past the half-diagonal, so any rotation of the crop stays inside it.
    """
    cx, cy = center
    reach = 0.75 * side
    x0, y0 = math.floor(cx - reach), math.floor(cy - reach)
    x1, y1 = math.ceil(cx + reach), math.ceil(cy + reach)
    height, width = gray.shape
    patch = gray[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
    patch = cv2.copyMakeBorder(patch, max(-y0, 0), max(y1 - height, 0), max(-x0, 0), max(x1 - width, 0),
                               cv2.BORDER_REPLICATE)
    factor = target / side
    small = cv2.resize(patch, (max(1, round(patch.shape[1] * factor)), max(1, round(patch.shape[0] * factor))),
                       interpolation=cv2.INTER_AREA)
    fx, fy = small.shape[1] / patch.shape[1], small.shape[0] / patch.shape[0]
    return small, ((cx - x0) * fx, (cy - y0) * fy), side * fx


def crop_face(gray: np.ndarray, detection: Detection, *, margin: float, align: bool = True,
              size: int = IMAGE_SIZE) -> np.ndarray:
    """One ``(size, size)`` uint8 crop from a grayscale image; parts outside the image repeat its edge pixels.

    Faces larger than twice the output are first area-shrunk (a direct bilinear warp to 48x48 would alias),
    then warped at up to twice the output size and area-shrunk again.
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a (H, W) uint8 grayscale image, got {gray.dtype} {gray.shape}")
    box = detection.box
    if box.w <= 0 or box.h <= 0:
        raise ValueError(f"cannot crop an empty box {box.to_tuple()}")
    center, side, angle = crop_geometry(detection, margin=margin, align=align)
    source = gray
    if side > 2 * size:
        source, center, side = _shrink_region(gray, center, side, 2.0 * size)
    work = int(min(max(round(side), size), 2 * size))
    matrix = face_matrix(center, side, angle=angle, size=work)
    crop = cv2.warpAffine(source, matrix, (work, work), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    if work != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop


def crop_faces(image: np.ndarray, detections: Sequence[Detection], *, margin: float, align: bool = True,
               size: int = IMAGE_SIZE) -> np.ndarray:
    """``(N, size, size)`` uint8 crops of every detection in a BGR image (``N`` may be 0)."""
    if not detections:
        return np.zeros((0, size, size), np.uint8)
    gray = to_gray(image)
    return np.stack([crop_face(gray, d, margin=margin, align=align, size=size) for d in detections])
