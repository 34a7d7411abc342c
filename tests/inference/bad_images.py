"""Bad and unusual image files, made on the fly for the image-loading, Recognizer and CLI tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["face_like", "encode", "truncated_jpeg", "png_claiming_size", "jpeg_claiming_size", "eps",
           "jpeg_with_orientation", "write_bad_files"]


def face_like(height: int = 64, width: int = 80) -> np.ndarray:
    """An RGB uint8 image with distinct rows, columns and channels, so flips and channel swaps show."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([(x * 3) % 256, (y * 3) % 256, np.full_like(x, 200)]).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = encode(Image.fromarray(face_like(200, 200)), "JPEG", quality=95)
    return data[: len(data) // 2]


def png_claiming_size(width: int, height: int) -> bytes:
    """A small valid-looking PNG whose header claims ``width`` x ``height``: a decompression bomb's signature."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17]))
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def jpeg_claiming_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG with its frame header (SOF) patched to claim ``width`` x ``height``: the pixel data is unchanged."""
    out = bytearray(data)
    i = 2
    while out[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + struct.unpack(">H", out[i + 2:i + 4])[0]
    out[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(out)


def eps() -> bytes:
    """A minimal Encapsulated PostScript file: Pillow's EPS plugin would hand it to Ghostscript to render."""
    return (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
            b"newpath 0 0 moveto 8 8 lineto stroke showpage\n%%EOF\n")


def jpeg_with_orientation(orientation: int, height: int = 40, width: int = 60) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(Image.fromarray(face_like(height, width)), "JPEG", exif=exif.tobytes())


def write_bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input the CLI must survive; keys name the case."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty": (folder / "empty.jpg", b""),
        "not_image": (folder / "notes.jpg", b"this is not an image\n"),
        "truncated": (folder / "truncated.jpg", truncated_jpeg()),
        "bomb": (folder / "bomb.png", png_claiming_size(30_000, 30_000)),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {name: path for name, (path, _) in files.items()}
