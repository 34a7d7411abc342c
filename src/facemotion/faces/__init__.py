"""Face detection and alignment: NumPy and OpenCV only, swappable detectors, testable without a classifier."""

from __future__ import annotations

from facemotion.faces.align import DEFAULT_MARGINS, crop_face, crop_faces, default_margin, eye_angle, to_gray
from facemotion.faces.detect import (
    DETECTORS,
    FaceDetector,
    HaarDetector,
    WholeImageDetector,
    YuNetDetector,
    create_detector,
    detections_from_boxes,
)
from facemotion.faces.yunet_model import download_yunet, find_yunet_model

__all__ = ["DETECTORS", "DEFAULT_MARGINS", "FaceDetector", "YuNetDetector", "HaarDetector", "WholeImageDetector",
           "create_detector", "detections_from_boxes", "crop_face", "crop_faces", "default_margin", "eye_angle",
           "to_gray", "download_yunet", "find_yunet_model"]
