"""Your own labelled faces as the same split arrays as FER2013's: decode, check, split, cache.

The listing (folders or a manifest, :mod:`.image_folders`, :mod:`.manifest`) gives :class:`Item` rows; turning a
file into a 48x48 face crop is the ``decode`` function passed in from above (``facemotion.inference.face_crops``:
the same decoding, detector, margin and alignment as ``predict``), so this package never imports ``faces``.
Nothing is trained until every file has been read: bad files are listed together, before any work is lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from facemotion.data.cache import load_cached, save_cached
from facemotion.data.splits import FER2013, SPLITS, Split
from facemotion.defaults import DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION
from facemotion.errors import DataError, FacemotionError
from facemotion.labels import IMAGE_SIZE, check_labels

__all__ = ["Item", "FaceDecoder", "read_own", "assign_splits", "MAX_LISTED", "MAX_FILE_BYTES"]

logger = logging.getLogger(__name__)

MAX_LISTED = 10
"""Bad files named in an error message; the run folder's ``skipped.csv`` lists them all."""

MAX_FILE_BYTES = 256 * 2**20
"""A file larger than this is refused as a photo: read whole to be decoded, a stray disk image or video would
otherwise take its size in memory (a 24-megapixel JPEG is about 10 MB; the decoder's own limit is in pixels)."""


@dataclass(frozen=True)
class Item:
    """One labelled image before decoding: its file, label name, split (None: drawn) and where it was listed."""

    path: Path
    label: str
    split: str | None
    name: str
    row: int | None = None

    def where(self) -> str:
        return f"{self.name} (row {self.row})" if self.row is not None else self.name


class FaceDecoder(Protocol):
    """Encoded image bytes -> a ``(48, 48)`` uint8 face crop, or None when no face was found.

    Raises :class:`~facemotion.errors.FacemotionError` for a file that is not a readable image. ``key`` names its
    settings (face mode, detector, margin) for the cache.
    """

    key: str

    def __call__(self, data: bytes, name: str) -> np.ndarray | None:
        ...


def assign_splits(items: Sequence[Item], *, val_fraction: float, test_fraction: float, seed: int) -> list[Item]:
    """Items without a split drawn into train/val/test, stratified by label and seeded; the draw depends only on
    the sorted file names, so the same files give the same split. Each label keeps at least one training image and,
    when ``val_fraction`` > 0 and it has two, one validation image."""
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise FacemotionError(f"--val-fraction {val_fraction} and --test-fraction {test_fraction} must each lie in "
                              f"[0, 1) and sum to less than 1")
    rng = np.random.default_rng(seed)
    out = [item for item in items if item.split is not None]
    groups: dict[str, list[Item]] = {}  # one pass: a manifest of many labels must not cost labels x items
    for item in items:
        if item.split is None:
            groups.setdefault(item.label, []).append(item)
    for label in sorted(groups):
        group = sorted(groups[label], key=lambda i: i.name)
        order = rng.permutation(len(group))
        wanted = max(int(round(len(group) * val_fraction)), 1 if val_fraction > 0 else 0)  # every label in val
        n_val = min(wanted, max(len(group) - 1, 0))
        n_test = min(int(round(len(group) * test_fraction)), max(len(group) - 1 - n_val, 0))
        for rank, index in enumerate(order):
            split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
            item = group[index]
            out.append(Item(item.path, item.label, split, item.name, item.row))
    return out


def _fingerprint(item: Item) -> tuple[str | None, str | None]:
    """The file's SHA-1, read in blocks (nothing is kept: the listing may be larger than memory), or why not."""
    if item.path.is_dir():
        return None, "a folder, not an image file"
    if not item.path.is_file():
        return None, "no such file"
    try:
        size = item.path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, f"{size:,} bytes, over the {MAX_FILE_BYTES:,} a photo may have"
        digest = hashlib.sha1()
        with item.path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        return digest.hexdigest(), None
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def _read_bytes(item: Item, digest: str) -> tuple[bytes | None, str | None]:
    """The file's bytes for decoding, checked against its :func:`_fingerprint` (which keyed the cache)."""
    try:
        data = item.path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if hashlib.sha1(data).hexdigest() != digest:
        return None, "changed while the data set was being read"
    return data, None


def _label_order(found: set[str], labels: Sequence[str] | None, source: str) -> tuple[str, ...]:
    if labels is None:
        names = tuple(sorted(found))
    else:
        names = check_labels(labels, source="--labels")
        missing, unknown = sorted(set(names) - found), sorted(found - set(names))
        if unknown:
            raise DataError(f"the data has label(s) {unknown} that --labels {','.join(names)} lacks", path=source)
        if missing:
            raise DataError(f"--labels names {missing}, which have no images", path=source)
    try:
        return check_labels(names, source=source)
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def _bad_message(bad: list[dict[str, Any]], source: str) -> str:
    shown = "; ".join(f"{b['file']}: {b['reason']}" for b in bad[:MAX_LISTED])
    more = f" (and {len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
    return (f"{len(bad)} file(s) cannot be used: {shown}{more}. Fix or remove them, or pass --skip-bad to train "
            f"without them (the run folder's skipped.csv lists them)")


def read_own(items: Sequence[Item], decode: FaceDecoder, *, source: str | Path, kind: str,
             labels: Sequence[str] | None = None, val_fraction: float = DEFAULT_VAL_FRACTION,
                 test_fraction: float = DEFAULT_TEST_FRACTION,
             seed: int = 0, skip_bad: bool = False, cache_dir: Path | None = None) -> FER2013:
    """Decode ``items`` into train/val/test arrays named by their labels.

    Args:
        items: the listing; items without a split are drawn by ``val_fraction``/``test_fraction`` with ``seed``.
        decode: bytes -> 48x48 face crop (None: no face found, listed and skipped).
        source: the folder or manifest, for messages and the record.
        kind: the form (``split-folders``, ``label-folders``, ``manifest``), for the record.
        labels: the label order; default sorted label names.
        skip_bad: leave out files that cannot be read or decoded instead of refusing the data set.
        cache_dir: keep the decoded arrays here, keyed by the files' content and the decoding settings.

    Raises:
        DataError: bad files (without ``skip_bad``), fewer than two labels, a label without training images, no
            validation images, ``labels`` that do not match the data.
    """
    source = str(source)
    drawn = any(item.split is None for item in items)
    items = sorted(assign_splits(items, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed),
                   key=lambda i: (i.name, i.row or 0))
    names = _label_order({item.label for item in items}, labels, source)
    digests: list[str | None] = []
    bad: list[dict[str, Any]] = []
    resolved = [item.path.resolve() for item in items]  # once: one filesystem call per file
    labels_of: dict[Path, set[str]] = {}
    for item, real in zip(items, resolved):
        labels_of.setdefault(real, set()).add(item.label)
    twice = {path: sorted(found) for path, found in labels_of.items() if len(found) > 1}
    key = hashlib.sha256(f"{decode.key}|{names}|{kind}\n".encode())
    for item, real in zip(items, resolved):
        digest, reason = _fingerprint(item)
        if real in twice:  # which label is right cannot be known: neither is trained on
            digest, reason = None, f"listed with two labels ({', '.join(twice[real])})"
        digests.append(digest)
        if reason is not None:
            bad.append({"file": item.where(), "reason": reason})
        key.update(os.fsencode(f"{item.name}|{item.label}|{item.split}|{digest or '-'}\n"))
    if bad and not skip_bad:
        raise DataError(_bad_message(bad, source), path=source)
    cache_key = f"own-{key.hexdigest()[:24]}"
    if cache_dir is not None and not bad:
        cached = load_cached(cache_dir, cache_key, source)
        if cached is not None:
            return cached
    data_set = _decode_all(items, digests, decode, names, source=source, kind=kind, bad=bad, skip_bad=skip_bad,
                           split_record={"drawn": drawn, "val_fraction": val_fraction, "test_fraction": test_fraction,
                                         "seed": seed})
    if cache_dir is not None:
        try:
            save_cached(cache_dir, cache_key, data_set)
        except OSError as exc:
            logger.warning("could not write the data cache in %s: %s", cache_dir, exc)
    return data_set


def _decode_all(items: Sequence[Item], digests: Sequence[str | None], decode: FaceDecoder,
                names: tuple[str, ...], *, source: str, kind: str, bad: list[dict[str, Any]], skip_bad: bool,
                split_record: dict[str, Any]) -> FER2013:
    index = {name: i for i, name in enumerate(names)}
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    targets: dict[str, list[int]] = {s: [] for s in SPLITS}
    no_face: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    leaks = 0
    kept: dict[str, list[str]] = {s: [] for s in SPLITS}
    for item, digest in zip(items, digests):
        if digest is None:
            continue
        data, reason = _read_bytes(item, digest)
        if data is None:
            bad.append({"file": item.where(), "reason": reason})
            continue
        try:
            crop = decode(data, item.where())
        except FacemotionError as exc:
            bad.append({"file": item.where(), "reason": str(exc)})
            continue
        if crop is None:
            no_face.append({"file": item.where(), "reason": "no face found"})
            continue
        if crop.shape != (IMAGE_SIZE, IMAGE_SIZE) or crop.dtype != np.uint8:
            raise DataError(f"the decoder gave a {crop.dtype} {crop.shape} crop, not {IMAGE_SIZE}x{IMAGE_SIZE} uint8",
                            path=item.path)
        split = item.split or "train"
        if seen.setdefault(digest, split) != split:
            leaks += 1
        images[split].append(crop)
        targets[split].append(index[item.label])
        kept[split].append(item.name)
    if bad and not skip_bad:
        raise DataError(_bad_message(bad, source), path=source)
    if no_face:
        logger.warning("%s: no face found in %d photo(s), skipped (listed in the run folder's skipped.csv): %s",
                       source, len(no_face), ", ".join(b["file"] for b in no_face[:MAX_LISTED]))
    train_labels = set(targets["train"])
    empty = [names[i] for i in range(len(names)) if i not in train_labels]
    if empty:
        raise DataError(f"label(s) {empty} have no training images left", path=source)
    if not targets["val"]:
        raise DataError("no validation images: add a val/ folder or val rows, or raise --val-fraction", path=source)
    notes: dict[str, Any] = {"kind": kind, "split": split_record, "skipped": bad + no_face, "leaks": leaks,
                             "images": {s: len(targets[s]) for s in SPLITS}}
    if split_record["drawn"]:
        notes["split"] = {**split_record, "val_files": kept["val"], "test_files": kept["test"]}
    return FER2013(**{s: Split.from_lists(images[s], targets[s]) for s in SPLITS}, source=source,
                   label_names=names, notes=notes)
