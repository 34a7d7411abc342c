"""Your own training images turned into face crops exactly as ``predict`` turns photos into them.

Training crops must be inference crops: the same decoding (:func:`~facemotion.inference.images.load_image`: EXIF,
16-bit, alpha, any format), and with ``faces="detect"`` the same detector, margin and eye alignment as a
:class:`~facemotion.inference.recognizer.Recognizer` with its defaults. ``faces="given"`` takes each image as the face,
as ``predict --detector none`` does. The decoder is what :func:`facemotion.data.load_dataset` calls per file.
"""

from __future__ import annotations

import threading

import numpy as np

from facemotion.defaults import FACE_MODES
from facemotion.faces import FaceDetector, create_detector, crop_faces, default_margin
from facemotion.inference.images import load_image

__all__ = ["FACE_MODES", "ImageFaceDecoder", "face_decoder"]


class ImageFaceDecoder:
    """Bytes of an encoded image -> its ``(48, 48)`` uint8 face crop; None when ``detect`` finds no face.

    With ``detect`` and several faces in a photo, the detector's best is taken (training photos show one person).
    """

    def __init__(self, detector: FaceDetector, *, align: bool = True) -> None:
        self.detector = detector
        self.align = align
        self.margin = default_margin(detector.name)
        self.key = f"faces={detector.name}|margin={self.margin}|align={align}|v1"
        self._lock = threading.Lock()

    def __call__(self, data: bytes, name: str) -> np.ndarray | None:
        from facemotion.errors import ImageError

        try:
            bgr = load_image(data)
        except ImageError as exc:
            raise ImageError(f"{name}: {exc}") from None
        with self._lock:
            detections = self.detector.detect(bgr)
        if not detections:
            return None
        return crop_faces(bgr, detections[:1], margin=self.margin, align=self.align)[0]


def face_decoder(faces: str = "given", *, detector: str = "auto") -> ImageFaceDecoder:
    """The decoder for ``--faces given`` (each image is a face crop) or ``--faces detect`` (find and align it)."""
    from facemotion.errors import FacemotionError

    if faces not in FACE_MODES:
        raise FacemotionError(f"--faces must be {' or '.join(FACE_MODES)}, got {faces!r}")
    return ImageFaceDecoder(create_detector("none" if faces == "given" else detector))
