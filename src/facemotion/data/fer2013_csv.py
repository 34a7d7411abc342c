"""Read the original FER2013 CSV (``emotion,pixels,Usage``, plain or gzipped) with row-level errors."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np

from facemotion.data.splits import FER2013, SPLITS, USAGE_TO_SPLIT, Split
from facemotion.errors import DataError
from facemotion.labels import IMAGE_SIZE, NUM_CLASSES

__all__ = ["read_csv", "REQUIRED_COLUMNS"]

REQUIRED_COLUMNS: tuple[str, ...] = ("emotion", "pixels", "Usage")
_PIXELS = IMAGE_SIZE * IMAGE_SIZE


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _open_text(path: Path) -> io.TextIOBase:
    """utf-8-sig: a CSV saved by Excel starts with a byte-order mark, which would otherwise glue onto 'emotion'."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _parse_pixels(text: str, path: Path, row: int) -> np.ndarray:
    tokens = text.split()
    if len(tokens) != _PIXELS:
        raise DataError(f"expected {_PIXELS} pixel values, got {len(tokens)}", path=path, row=row)
    try:
        if not text.isascii():  # int() would take other scripts' digits; '²' passes isdigit() but not int()
            raise ValueError(text)
        values = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next((t for t in tokens if not _INTEGER.fullmatch(t)), None)
        if bad is not None:
            shown = bad if len(bad) <= 24 else f"{bad[:24]}..."
            raise DataError(f"non-numeric pixel value {shown!r}", path=path, row=row) from None
        big = next((t for t in tokens if len(t.lstrip("+-0")) > 3 or not 0 <= int(t) <= 255), tokens[0])
        shown = big if len(big) <= 24 else f"{big[:24]}..."
        raise DataError(f"pixel values must lie in 0-255, got {shown}", path=path, row=row) from None
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"pixel values must lie in 0-255, got {values.min()}..{values.max()}", path=path, row=row)
    return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def read_csv(path: str | Path) -> FER2013:
    """Read every row of a FER2013 CSV into the train/val/test splits.

    Rows are numbered as a spreadsheet would show them (the header is row 1), so an error can be found by eye.
    Any bad row raises :class:`DataError`; nothing half-read is returned.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", path=path)
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {s: [] for s in SPLITS}
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DataError("the file is empty", path=path)
            header = [h.strip() for h in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise DataError(f"missing column(s) {', '.join(missing)}; header is {header}", path=path, row=1)
            col = {name: header.index(name) for name in REQUIRED_COLUMNS}
            for row, fields in enumerate(reader, start=2):
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise DataError(f"expected {len(header)} fields, got {len(fields)}", path=path, row=row)
                try:
                    label = int(fields[col["emotion"]])
                except ValueError:
                    value = fields[col["emotion"]]
                    raise DataError(f"emotion {value!r} is not an integer", path=path, row=row) from None
                if not 0 <= label < NUM_CLASSES:
                    raise DataError(f"emotion {label} is outside 0-{NUM_CLASSES - 1}", path=path, row=row)
                usage = fields[col["Usage"]].strip()
                split = USAGE_TO_SPLIT.get(usage)
                if split is None:
                    known = ", ".join(USAGE_TO_SPLIT)
                    raise DataError(f"unknown Usage {usage!r}; expected one of {known}", path=path, row=row)
                images[split].append(_parse_pixels(fields[col["pixels"]], path, row))
                labels[split].append(label)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read: {exc}", path=path) from exc
    if not any(labels.values()):
        raise DataError("the file has a header but no rows", path=path)
    return FER2013(**{s: Split.from_lists(images[s], labels[s]) for s in SPLITS}, source=str(path))

