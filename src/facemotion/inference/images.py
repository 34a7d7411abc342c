"""Load any image a user may hand us into the one form the pipeline uses: a BGR uint8 ``(H, W, 3)`` array.

Accepted: a path, encoded bytes, a NumPy array (BGR or RGB, as stated; gray, alpha, 16-bit and float handled) or a
PIL image. Files are decoded by Pillow, which honours EXIF orientation (phone photos are stored sideways) and reads
CMYK, palette, 16-bit and alpha images that ``cv2.imread`` gets wrong or silently drops. Every failure is an
:class:`~facemotion.errors.ImageError` naming the source.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Union

import numpy as np

from facemotion.errors import ImageError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["DEFAULT_MAX_PIXELS", "ImageInput", "ChannelOrder", "load_image", "describe_source"]

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb limit (about 89 megapixels, e.g. 10,000 x 8,900): every camera photo up to
~89 MP passes, while a small file that claims to decode to gigabytes is refused before any pixel is decoded."""

ImageInput = Union[str, Path, bytes, bytearray, memoryview, np.ndarray, "PILImage.Image"]
ChannelOrder = Literal["bgr", "rgb"]

logger = logging.getLogger(__name__)

_BACKGROUND = 255  # transparent pixels are shown over white, as viewers and browsers do


def describe_source(source: object) -> str:
    """A short name for error messages: the path, or the kind of in-memory object."""
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    return f"<{type(source).__module__}.{type(source).__name__}>"


def load_image(source: ImageInput, *, channel_order: ChannelOrder = "bgr",
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Any supported input -> a contiguous BGR uint8 ``(H, W, 3)`` array, upright as EXIF says.

    Args:
        source: a file path, the bytes of an encoded image, a NumPy array or a PIL image.
        channel_order: the channel order of a 3- or 4-channel NumPy array (``bgr`` as OpenCV gives, or ``rgb``);
            ignored for files, bytes and PIL images, whose order is known.
        max_pixels: refuse images with more pixels than this (None: no limit), checked before decoding.

    Raises:
        ImageError: the source is missing, empty, not an image, truncated, too large or of an unusable shape.
    """
    if channel_order not in ("bgr", "rgb"):
        raise ImageError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    name = describe_source(source)
    if isinstance(source, np.ndarray):
        return _from_array(source, channel_order, None, name)  # already in memory: no bomb to defuse
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if not path.is_file():
            raise ImageError(f"{name}: not a file")
        try:
            if path.stat().st_size == 0:
                raise ImageError(f"{name}: the file is empty (0 bytes)")
            with path.open("rb") as handle:  # Pillow reads only what it needs: the header first, pixels on load()
                return _decode(handle, max_pixels, name)
        except OSError as exc:
            raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageError(f"{name}: the image data is empty (0 bytes)")
        return _decode(io.BytesIO(bytes(source)), max_pixels, name)
    from PIL import Image

    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels, name)
    raise ImageError(f"cannot read an image from {type(source).__name__}: pass a path, bytes, a NumPy array or "
                     f"a PIL image")


def _check_size(width: int, height: int, max_pixels: int | None, name: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(f"{name}: {width}x{height} = {width * height:,} pixels is over the limit of "
                         f"{max_pixels:,} (a decompression bomb, or raise max_pixels / --max-pixels)")


def _decode(stream: BinaryIO, max_pixels: int | None, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        # Our own limit is checked next, from the header and before decoding; Pillow's global limit is left alone
        # (process-wide state) and only its warning is silenced here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image, or a format Pillow cannot read") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow plugins raise these for damaged headers
        raise ImageError(f"{name}: cannot read the image header ({exc})") from exc
    return _from_pil(image, max_pixels, name)


def _from_pil(image: PILImage.Image, max_pixels: int | None, name: str) -> np.ndarray:
    from PIL import ImageOps

    _check_size(image.width, image.height, max_pixels, name)
    try:
        image.load()
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to decode the image") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... for damaged data
        raise ImageError(f"{name}: the image is truncated or corrupt ({exc})") from exc
    try:
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # damaged EXIF should not cost the user the picture: keep it as stored
        logger.debug("%s: EXIF orientation ignored (%s)", name, exc)
    return _pil_to_bgr(image, name)


def _pil_to_bgr(image: PILImage.Image, name: str) -> np.ndarray:
    """Convert every Pillow mode to BGR uint8; 16-bit and float data are scaled, transparency goes over white."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        array = np.asarray(image)
        return _from_array(array, "bgr", None, name)
    elif mode == "LA":
        array = np.asarray(image)
        return _from_array(np.dstack([array[..., 0]] * 3 + [array[..., 1]]), "rgb", None, name)
    elif mode not in ("RGB", "RGBA", "L", "1"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    array = np.asarray(image.convert("L") if image.mode == "1" else image)
    return _from_array(array, "rgb", None, name)


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    """Scale any numeric array to uint8: 16-bit by its full range, floats in [0, 1] or [0, 255], others min-max."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ImageError(f"{name}: cannot use pixels of type {array.dtype}")
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise ImageError(f"{name}: the image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        values = values * 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif np.issubdtype(array.dtype, np.integer) and low >= 0.0 and high <= 65535.0:
        values = values / 257.0  # 16-bit data held in a wider integer (Pillow's "I" mode)
    else:  # signed, HDR or otherwise unscaled data: stretch to the full range
        values = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _from_array(array: np.ndarray, channel_order: ChannelOrder, max_pixels: int | None, name: str) -> np.ndarray:
    import cv2

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), "
                         f"got {array.shape}")
    _check_size(array.shape[1], array.shape[0], max_pixels, name)
    array = _to_uint8(array, name)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        color = array[..., :3].astype(np.float32) * alpha + _BACKGROUND * (1.0 - alpha)
        array = np.clip(np.rint(color), 0, 255).astype(np.uint8)
    if channel_order == "rgb":
        array = array[..., ::-1]
    return np.ascontiguousarray(array)
