"""List your own labelled images from a CSV manifest: ``path,label[,split]``, paths relative to the CSV.

A manifest is recognised by its header (``path`` and ``label`` columns; FER2013's CSV has ``emotion,pixels``).
``split`` is ``train``, ``val`` or ``test``; a row without one is drawn by ``--val-fraction``/``--test-fraction``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from facemotion.data.image_folders import SPLIT_FOLDERS
from facemotion.data.own import Item
from facemotion.errors import DataError

__all__ = ["is_manifest", "list_manifest"]


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [c.strip().lower() for c in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError):
        return []


def is_manifest(path: Path) -> bool:
    """A ``.csv`` whose header names ``path`` and ``label`` columns."""
    return path.suffix.lower() == ".csv" and {"path", "label"} <= set(_header(path))


def list_manifest(path: str | Path) -> list[Item]:
    """Every row as an :class:`Item`; a missing file is kept (the reader lists it as bad, with its row number)."""
    path = Path(path)
    base = path.parent
    items = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = {name.strip().lower(): name for name in reader.fieldnames or []}
            if not {"path", "label"} <= set(fields):
                raise DataError(f"a manifest needs the columns path,label[,split]; got {reader.fieldnames}", path=path)
            for row_number, row in enumerate(reader, start=2):  # row 1 is the header
                file = (row.get(fields["path"]) or "").strip()
                label = (row.get(fields["label"]) or "").strip()
                split = (row.get(fields["split"]) or "").strip().lower() if "split" in fields else ""
                if not file or not label:
                    raise DataError("empty path or label", path=path, row=row_number)
                if split and split not in SPLIT_FOLDERS:
                    raise DataError(f"unknown split {split!r}; expected {', '.join(SPLIT_FOLDERS)} or empty",
                                    path=path, row=row_number)
                items.append(Item(path=base / file, label=label, split=split or None, name=file, row=row_number))
    except UnicodeDecodeError as exc:  # read in chunks: the error's position is within one, so find the line again
        raise DataError("not UTF-8 text (save the manifest as UTF-8)", path=path, row=_first_bad_line(path)) from exc
    except OSError as exc:
        raise DataError(f"cannot read the manifest: {exc}", path=path) from exc
    except csv.Error as exc:
        raise DataError(f"not a valid CSV: {exc}", path=path) from exc
    if not items:
        raise DataError("the manifest lists no images", path=path)
    return items


def _first_bad_line(path: Path) -> int | None:
    """The line holding the file's first byte that is not UTF-8 (None when it cannot be read again)."""
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw[:exc.start].count(b"\n") + 1
    except OSError:
        return None
    return None
