"""Load any image a user may hand us into the one form the pipeline uses: a BGR uint8 ``(H, W, 3)`` array.

Accepted: a path, encoded bytes, a NumPy array (BGR or RGB, as stated; gray, alpha, 16-bit and float handled) or a
PIL image. Files are decoded by Pillow, which honours EXIF orientation (phone photos are stored sideways) and reads
CMYK, palette, 16-bit and alpha images that ``cv2.imread`` gets wrong or silently drops. Every failure is an
:class:`~facemotion.errors.ImageError` naming the source.

Hostile files are refused before their pixels are decoded: formats outside :data:`IMAGE_FORMATS` (an EPS upload
would reach Ghostscript), sizes over ``max_pixels``, and JPEGs whose data is too short for the size their header
claims. Decoding takes a few bytes per pixel of the limit, never float copies of the image.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Union

import numpy as np

from facemotion.defaults import DEFAULT_MAX_PIXELS
from facemotion.errors import ImageError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["DEFAULT_MAX_PIXELS", "IMAGE_FORMATS", "ImageInput", "ChannelOrder", "load_image", "describe_source"]


IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM")
"""The Pillow formats decoded (JPEG includes phones' MPO); any other (EPS, PDF, PSD, FITS...) is refused before
its decoder runs. The same set as the command line's image suffixes."""

_ORIENTATION = 0x0112  # the EXIF tag

ImageInput = Union[str, Path, bytes, bytearray, memoryview, np.ndarray, "PILImage.Image"]
ChannelOrder = Literal["bgr", "rgb"]

logger = logging.getLogger(__name__)


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
            image = Image.open(stream, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        other = _sniff_format(stream)
        if other is not None:
            raise ImageError(f"{name}: {other} images are not accepted; the formats read are "
                             f"{', '.join(IMAGE_FORMATS)}") from exc
        raise ImageError(f"{name}: not an image, or a format Pillow cannot read") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow plugins raise these for damaged headers
        raise ImageError(f"{name}: cannot read the image header ({exc})") from exc
    if image.format in ("JPEG", "MPO"):
        position = stream.tell()
        _check_jpeg_length(image, stream.seek(0, io.SEEK_END), name)
        stream.seek(position)
    return _from_pil(image, max_pixels, name)


def _sniff_format(stream: BinaryIO) -> str | None:
    """The format a refused file is in, from Pillow's signature checks on its first bytes: no plugin parses it."""
    from PIL import Image

    stream.seek(0)
    prefix = stream.read(16)
    Image.init()
    for fmt in Image.ID:
        accept = Image.OPEN[fmt][1]
        if accept is not None and accept(prefix):
            return fmt
    return None


def _check_jpeg_length(image: PILImage.Image, size: int, name: str) -> None:
    """Refuse a JPEG whose data cannot hold the image its header claims: every 8x8 block of every component costs
    at least one bit of Huffman data. libjpeg pads a premature end with grey and Pillow reports nothing, so
    justin.jpg (33 KB) with its header patched to 7000x7000 would decode, at 150 MB, as a 7000x7000 photo."""
    layers = getattr(image, "layer", None) or [(0, 1, 1, 0)]
    h_max, v_max = max(layer[1] for layer in layers), max(layer[2] for layer in layers)
    blocks = sum(math.ceil(math.ceil(image.width * h / h_max) / 8) * math.ceil(math.ceil(image.height * v / v_max) / 8)
                 for _, h, v, *_ in layers)
    if size * 8 < blocks:
        raise ImageError(f"{name}: the image is truncated or corrupt (its {size:,} bytes cannot hold the "
                         f"{image.width}x{image.height} JPEG its header claims)")


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
        if image.getexif().get(_ORIENTATION, 1) in range(2, 9):  # else exif_transpose returns a full-size copy
            image = ImageOps.exif_transpose(image)
    except Exception as exc:  # damaged EXIF should not cost the user the picture: keep it as stored
        logger.debug("%s: EXIF orientation ignored (%s)", name, exc)
    return _pil_to_bgr(image, name)


def _pil_to_bgr(image: PILImage.Image, name: str) -> np.ndarray:
    """Convert every Pillow mode to BGR uint8; 16-bit and float data are scaled, transparency goes over white."""
    import cv2

    if image.mode == "La":  # premultiplied grey and alpha: Pillow converts it only to LA
        image = image.convert("LA")
    mode = image.mode
    if mode == "P" and "transparency" not in image.info:
        return _palette_to_bgr(image)
    if mode in ("P", "PA"):
        image = image.convert("RGBA")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        array = np.asarray(image)
        return _from_array(array, "bgr", None, name)
    elif mode == "LA":
        return cv2.cvtColor(_over_white(np.asarray(image)), cv2.COLOR_GRAY2BGR)
    elif mode not in ("RGB", "RGBA", "L", "1"):
        try:
            image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
        except ValueError as exc:  # a mode Pillow has no conversion for
            raise ImageError(f"{name}: cannot convert its {mode} pixels to colour ({exc})") from None
    array = np.asarray(image.convert("L") if image.mode == "1" else image)
    return _from_array(array, "rgb", None, name)


def _palette_to_bgr(image: PILImage.Image) -> np.ndarray:
    """A palette image through its colour table: one byte per pixel read, the BGR output the only full-size copy
    (a 35-byte 7000x7000 GIF cost 510 MB through Pillow's RGB conversion)."""
    palette = np.zeros((256, 3), np.uint8)
    colours = np.frombuffer(bytes(image.getpalette("RGB") or b""), np.uint8)[:768].reshape(-1, 3)
    palette[:len(colours)] = colours
    return palette[:, ::-1][np.asarray(image)]


def _over_white(array: np.ndarray) -> np.ndarray:
    """Composite colour (or gray) + alpha channels over white in uint8, one channel at a time: ``255 - (255 - c) *
    a / 255``. Float temporaries of a 7000x7000 RGBA image took 2.7 GB; this takes a few bytes per pixel."""
    import cv2

    alpha = np.ascontiguousarray(array[..., -1])
    channels = []
    for i in range(array.shape[2] - 1):
        inverse = cv2.bitwise_not(np.ascontiguousarray(array[..., i]))
        channels.append(cv2.bitwise_not(cv2.multiply(inverse, alpha, scale=1 / 255)))
    return channels[0] if len(channels) == 1 else cv2.merge(channels)


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
    values = array.astype(np.float32)  # one float copy, then scaled in place
    if not np.isfinite(values).all():
        raise ImageError(f"{name}: the image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        values *= 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif np.issubdtype(array.dtype, np.integer) and low >= 0.0 and high <= 65535.0:
        values /= 257.0  # 16-bit data held in a wider integer (Pillow's "I" mode)
    elif high > low:  # signed, HDR or otherwise unscaled data: stretch to the full range
        values -= low
        values *= 255.0 / (high - low)
    else:
        values[...] = 0.0
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)


def _from_array(array: np.ndarray, channel_order: ChannelOrder, max_pixels: int | None, name: str) -> np.ndarray:
    import cv2

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), "
                         f"got {array.shape}")
    _check_size(array.shape[1], array.shape[0], max_pixels, name)
    array = _to_uint8(array, name)
    if array.ndim == 3 and array.shape[2] == 4:
        array = _over_white(array)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if channel_order == "rgb":
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(array)
