"""One FER2013-sized grey image from its encoded bytes, its size read from the header before any pixel is decoded.

A data set's image is 48x48, so a file declaring 20000x20000 is refused from its header: decoded first, a 400 kB
PNG of that size took 814 MB before the size check could see it. Pillow reads the header; a format it does not know
is left to OpenCV's decoder (and its own limit of 2^30 pixels), and so is every image where Pillow is not installed
(the GPU machine's bare Python: there the data is the project's own packed file).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np

from facemotion.labels import IMAGE_SIZE

__all__ = ["decode_gray48"]

_SHAPE = (IMAGE_SIZE, IMAGE_SIZE)


def decode_gray48(data: np.ndarray) -> np.ndarray:
    """The ``(48, 48)`` uint8 grey image encoded in ``data`` (uint8 bytes).

    Raises:
        ValueError: not a readable image, or not 48x48 (saying its size).
    """
    if not data.size:
        raise ValueError("not a readable image (empty)")
    size = _header_size(data)
    if size is not None and size != _SHAPE[::-1]:
        raise ValueError(f"expected a {IMAGE_SIZE}x{IMAGE_SIZE} image, got {size[0]}x{size[1]}")
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("not a readable image")
    if image.shape != _SHAPE:
        raise ValueError(f"expected a {IMAGE_SIZE}x{IMAGE_SIZE} image, got {image.shape[1]}x{image.shape[0]}")
    return image


def _header_size(data: np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` from the header, or None when Pillow cannot tell (or is not installed)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():  # Pillow's warning for large sizes: refused by the caller anyway
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data.tobytes())) as header:
                return header.size
    except Image.DecompressionBombError as exc:
        raise ValueError(f"expected a {IMAGE_SIZE}x{IMAGE_SIZE} image, got a far larger one ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
