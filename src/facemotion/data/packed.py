"""FER2013's fixed splits as one ``.npz`` of arrays: the compact form that travels to a machine without the CSV.

Each split ``s`` is stored either exactly, ``{s}_images`` ``(N, 48, 48)`` uint8, or as JPEG, ``{s}_jpeg`` (every
image's JPEG bytes end to end) with ``{s}_jpeg_offsets`` ``(N + 1,)``; its labels are ``{s}_labels`` ``(N,)``. A
split with no members is empty. ``meta`` holds a JSON string (where the arrays came from, the JPEG quality and its
measured error). The members are LZMA-compressed (xz's algorithm) inside the zip, so plain ``np.load`` reads the file
and the JPEG headers, identical in every image, cost almost nothing; the uncompressed cache ``.npz`` is a valid
packed file too.

FER2013's own images are JPEG at about quality 95: re-encoding Training at 95 changes a pixel by 0.09 grey levels
on average, so a packed Training split is near-exact at two thirds of the xz-compressed uint8 size.
"""

from __future__ import annotations

import json
import lzma
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facemotion.data.gray48 import decode_gray48
from facemotion.data.splits import FER2013, SPLITS, Split
from facemotion.errors import DataError
from facemotion.labels import IMAGE_SIZE, NUM_CLASSES

__all__ = ["PACKED_SUFFIX", "write_packed", "read_packed", "packed_meta", "encode_jpeg", "decode_jpeg"]

PACKED_SUFFIX = ".npz"
_SHAPE = (IMAGE_SIZE, IMAGE_SIZE)


def encode_jpeg(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(48, 48)`` uint8 image as grayscale JPEG: the bytes end to end, and ``(N + 1,)`` offsets into them."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must lie in 1-100, got {quality}")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
    blobs = [cv2.imencode(".jpg", np.ascontiguousarray(image), params)[1].ravel() for image in images]
    offsets = np.zeros(len(blobs) + 1, np.int64)
    np.cumsum([b.size for b in blobs], out=offsets[1:])
    data = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
    return data.astype(np.uint8, copy=False), offsets


def decode_jpeg(data: np.ndarray, offsets: np.ndarray, *, path: str | Path = "", split: str = "") -> np.ndarray:
    """The ``(N, 48, 48)`` uint8 images of :func:`encode_jpeg`'s output; a bad image is a DataError naming it."""
    if data.dtype != np.uint8 or data.ndim != 1 or not np.issubdtype(offsets.dtype, np.integer) \
            or offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != data.size \
            or np.any(np.diff(offsets) <= 0):
        raise DataError(f"{split}: JPEG offsets do not index the {data.size} JPEG bytes", path=path)
    out = np.empty((offsets.size - 1, *_SHAPE), np.uint8)
    for i in range(out.shape[0]):
        try:
            out[i] = decode_gray48(data[offsets[i]:offsets[i + 1]])
        except ValueError as exc:
            raise DataError(f"{split} image {i}: not a 48x48 JPEG ({exc})", path=path) from None
    return out


def write_packed(data: FER2013, path: str | Path, *, jpeg_quality: Mapping[str, int] | None = None,
                 splits: tuple[str, ...] = SPLITS, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``splits`` of ``data`` to ``path`` (.npz), atomically; splits in ``jpeg_quality`` go as JPEG.

    Returns the ``meta`` written, with each JPEG split's quality and mean absolute pixel error measured.
    """
    path = Path(path)
    jpeg_quality = dict(jpeg_quality or {})
    unknown = sorted(set(jpeg_quality) - set(splits))
    if unknown:
        raise ValueError(f"JPEG quality given for split(s) {', '.join(unknown)} not among {', '.join(splits)}")
    arrays: dict[str, np.ndarray] = {}
    record: dict[str, Any] = {"format": "facemotion-packed-1", "source": data.source, "splits": {}, **(meta or {})}
    for name in splits:
        part = data.split(name)
        arrays[f"{name}_labels"] = part.labels.astype(np.int64)
        entry: dict[str, Any] = {"images": len(part), "storage": "uint8"}
        if name in jpeg_quality:
            blob, offsets = encode_jpeg(part.images, jpeg_quality[name])
            arrays[f"{name}_jpeg"], arrays[f"{name}_jpeg_offsets"] = blob, offsets
            error = np.abs(decode_jpeg(blob, offsets, path=path, split=name).astype(np.int16) - part.images)
            entry = {**entry, "storage": "jpeg", "quality": jpeg_quality[name],
                     "mean_abs_error": float(error.mean()) if error.size else 0.0,
                     "max_abs_error": int(error.max()) if error.size else 0}
        else:
            arrays[f"{name}_images"] = part.images
        record["splits"][name] = entry
    arrays["meta"] = np.array(json.dumps(record))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_LZMA) as archive:
            for key, array in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return record


def _split(npz: Any, name: str, path: Path) -> Split:
    keys = set(npz.files)
    if f"{name}_labels" not in keys:
        if keys & {f"{name}_images", f"{name}_jpeg"}:
            raise DataError(f"{name}: images without {name}_labels", path=path)
        return Split.from_lists([], [])
    labels = npz[f"{name}_labels"]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{name}_labels must be a 1-D integer array, got {labels.dtype} {labels.shape}", path=path)
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(f"{name}_labels must lie in 0-{NUM_CLASSES - 1}, got {labels.min()}..{labels.max()}",
                        path=path)
    if f"{name}_images" in keys:
        images = npz[f"{name}_images"]
        if images.dtype != np.uint8 or images.shape[1:] != _SHAPE:
            raise DataError(f"{name}_images must be (N, 48, 48) uint8, got {images.dtype} {images.shape}", path=path)
    elif f"{name}_jpeg" in keys and f"{name}_jpeg_offsets" in keys:
        images = decode_jpeg(npz[f"{name}_jpeg"], npz[f"{name}_jpeg_offsets"], path=path, split=name)
    else:
        raise DataError(f"{name}: labels without {name}_images or {name}_jpeg + {name}_jpeg_offsets", path=path)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{name}: {images.shape[0]} images but {labels.shape[0]} labels", path=path)
    return Split(images, labels.astype(np.int64))


def _check_member_sizes(path: Path) -> None:
    """Every ``.npy`` member holds the bytes its header declares: numpy allocates the declared shape before it
    reads, so a few hundred bytes declaring ``(10**12,)`` would otherwise ask for terabytes."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read_header is None:
                    raise ValueError(f"{info.filename}: .npy format version {version} not supported")
                shape, _, dtype = read_header(member)
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                held = info.file_size - member.tell()
            if declared != held:
                raise DataError(f"{info.filename}: its header declares {dtype} {shape} ({declared:,} bytes) but it "
                                f"holds {held:,}", path=path)


def read_packed(path: str | Path) -> FER2013:
    """The splits of a packed ``.npz`` (exact or JPEG members); a damaged or foreign file raises DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    try:
        _check_member_sizes(path)
        with np.load(path, allow_pickle=False) as npz:
            if not any(f"{s}_labels" in npz.files for s in SPLITS):
                raise DataError(f"no FER2013 split arrays ({', '.join(f'{s}_labels' for s in SPLITS)}); "
                                f"members are {', '.join(npz.files[:8]) or 'none'}", path=path)
            splits = {s: _split(npz, s, path) for s in SPLITS}
    except DataError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"cannot read as a packed .npz: {exc}", path=path) from exc
    except MemoryError:
        raise DataError("its arrays do not fit in this machine's memory", path=path) from None
    return FER2013(**splits, source=str(path))


def packed_meta(path: str | Path) -> dict[str, Any]:
    """The ``meta`` record of a packed file (empty for a plain arrays .npz such as the cache)."""
    try:
        with np.load(Path(path), allow_pickle=False) as npz:
            return json.loads(npz["meta"].item()) if "meta" in npz.files else {}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"cannot read as a packed .npz: {exc}", path=path) from exc
