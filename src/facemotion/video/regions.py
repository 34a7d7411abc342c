"""Look for faces only where they were: the detector runs on small regions around the tracked faces.

Between two frames of a video a face moves a little, so scanning the whole frame again is mostly wasted: a region a
few times the face's size, shrunk so the face has a set size, costs a fraction of a whole 640x480 scan. The analyzer
still scans whole frames at a fixed interval and whenever the regions hold no face, so new faces are found; see
:class:`~facemotion.video.analyzer.VideoAnalyzer`.

The region's size and scale are set per detector (:data:`REGION_SETTINGS`), measured on woman2.mp4 letterboxed to
640x480 against whole-frame detection of the same frames: Haar gives the same boxes (mean offset under 1 pixel) on a
region twice the face's size with the face shrunk to 96 pixels; YuNet shrinks its boxes by 5-7 % when the face is
that small or the context that tight, and is unbiased with the face at 160 pixels in a region 2.5 times its size.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from facemotion.faces import FaceDetector
from facemotion.types import Box, Detection, Landmarks
from facemotion.video.tracking import iou

__all__ = ["REGION_SETTINGS", "RegionDetector", "region_settings"]

REGION_SETTINGS: dict[str, tuple[float, int]] = {"haar": (0.5, 96), "yunet": (0.75, 160)}
"""Detector name -> (``expand``: the face's size added on every side, ``face_size``: the face's side in pixels after
shrinking its region). Only detection runs on the shrunk region; the classifier's crop is cut from the full frame."""


def region_settings(detector_name: str) -> tuple[float, int]:
    """The measured region settings for a detector; an unknown (user-written) detector gets YuNet's, the roomier."""
    return REGION_SETTINGS.get(detector_name, REGION_SETTINGS["yunet"])


class RegionDetector:
    """Runs ``base`` only inside the regions around given face boxes: ``detect(image, regions)``.

    Boxes and landmarks come back in the full frame's pixels, and ``name`` is the base detector's, so the crop margin
    and alignment are those of a full-frame detection. :meth:`around` binds the regions of one frame into a
    :class:`~facemotion.faces.FaceDetector` for ``Recognizer.predict(image, detector=...)``; nothing is set on the
    object between calls, so one RegionDetector serves any number of threads and frames.

    Args:
        base: the detector to run on each region.
        expand: how much of the face's size each region adds on every side (0.5: a region twice the face's size);
            None: the value measured for the detector (:data:`REGION_SETTINGS`).
        face_size: the face's side, in pixels, after shrinking its region (smaller ones are not enlarged); None: the
            measured value.
    """

    def __init__(self, base: FaceDetector, *, expand: float | None = None, face_size: int | None = None) -> None:
        default_expand, default_size = region_settings(base.name)
        self.name = base.name
        self.expand = default_expand if expand is None else expand
        self.face_size = default_size if face_size is None else face_size
        self.base = base
        if isinstance(getattr(base, "min_face_size", None), int):
            # A tracked face does not halve in size between two frames: skipping the scales below half its size
            # makes Haar's region scan 2-3x faster (it pays per scale), and costs nothing elsewhere.
            narrowed: Any = copy.copy(base)
            narrowed.min_face_size = max(narrowed.min_face_size, self.face_size // 2)
            self.base = narrowed

    def around(self, regions: Sequence[Box]) -> FaceDetector:
        """A detector that searches only around ``regions`` (face boxes in the frame's pixels)."""
        return _Around(self, tuple(regions))

    def detect(self, image: np.ndarray, regions: Sequence[Box]) -> list[Detection]:
        """Faces found in the regions around ``regions``, best first, duplicates (overlapping regions) removed."""
        height, width = image.shape[:2]
        found: list[Detection] = []
        for box in regions:
            side = max(box.w, box.h, 1)
            pad = round(side * self.expand)
            region = Box(box.x - pad, box.y - pad, box.w + 2 * pad, box.h + 2 * pad).clip(width, height)
            if min(region.w, region.h) < 2:
                continue
            crop = image[region.y:region.y + region.h, region.x:region.x + region.w]
            scale = min(1.0, self.face_size / side)
            if scale < 1.0:
                size = (max(1, round(region.w * scale)), max(1, round(region.h * scale)))
                crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            sx, sy = region.w / crop.shape[1], region.h / crop.shape[0]
            found.extend(_to_frame(d, region, sx, sy) for d in self.base.detect(np.ascontiguousarray(crop)))
        found.sort(key=lambda d: (-(d.score if d.score is not None else 0.0), -d.box.area))
        kept: list[Detection] = []
        for detection in found:
            if all(iou(detection.box, other.box) < 0.5 for other in kept):
                kept.append(detection)
        return kept


@dataclass(frozen=True)
class _Around:
    """The :class:`~facemotion.faces.FaceDetector` of :meth:`RegionDetector.around`: one frame's regions, bound."""

    search: RegionDetector
    regions: tuple[Box, ...]

    @property
    def name(self) -> str:
        return self.search.name

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.search.detect(image, self.regions)


def _to_frame(detection: Detection, region: Box, sx: float, sy: float) -> Detection:
    """A detection in a (shrunk) region, moved back to the frame's pixels."""
    b = detection.box
    x0, y0 = region.x + b.x * sx, region.y + b.y * sy
    x1, y1 = region.x + (b.x + b.w) * sx, region.y + (b.y + b.h) * sy
    box = Box(round(x0), round(y0), max(round(x1) - round(x0), 0), max(round(y1) - round(y0), 0))
    landmarks = None
    if detection.landmarks is not None:
        landmarks = Landmarks.from_points([(region.x + x * sx, region.y + y * sy)
                                           for x, y in detection.landmarks.points()])
    return Detection(box, detection.score, landmarks)

