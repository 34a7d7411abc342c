"""Read FER2013's image-folder form: ``train/<class>/*.jpg``, ``test/<class>/{PublicTest,PrivateTest}_*.jpg``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facemotion.data.gray48 import decode_gray48
from facemotion.data.splits import FER2013, SPLITS, USAGE_TO_SPLIT, Split
from facemotion.errors import DataError
from facemotion.labels import EMOTIONS

__all__ = ["read_folders", "list_images", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


def list_images(root: Path) -> list[tuple[Path, str, int]]:
    """Every image under ``root`` as (path, split, label), sorted, without decoding anything.

    Files under ``train/`` belong to train; files under ``test/`` go to val or test by their
    ``PublicTest_`` / ``PrivateTest_`` prefix, the only record of the original split in this form. Only regular
    files (or links to them) count: pipes, sockets and devices are skipped.
    """
    entries: list[tuple[Path, str, int]] = []
    for top in ("train", "test"):
        base = root / top
        if not base.is_dir():
            raise DataError(f"missing folder {top}/ (expected train/<class>/ and test/<class>/)", path=root)
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            if class_dir.name not in EMOTIONS:
                raise DataError(f"unknown class folder {class_dir.name!r}; expected one of {', '.join(EMOTIONS)}",
                                path=class_dir)
            label = EMOTIONS.index(class_dir.name)
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES or not file.is_file():
                    continue  # is_file: a FIFO or socket named *.jpg would block the read forever
                entries.append((file, _split_of(file, top), label))
    if not entries:
        raise DataError("no images found", path=root)
    return entries


def _split_of(file: Path, top: str) -> str:
    if top == "train":
        return "train"
    usage = file.name.split("_", 1)[0]
    split = USAGE_TO_SPLIT.get(usage)
    if split not in ("val", "test"):
        raise DataError("test images must be named PublicTest_* or PrivateTest_*", path=file)
    return split


def _read_gray(file: Path) -> np.ndarray:
    try:
        data = np.fromfile(file, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"cannot read: {exc}", path=file) from exc
    try:
        return decode_gray48(data)
    except ValueError as exc:
        raise DataError(str(exc), path=file) from None


def read_folders(root: str | Path) -> FER2013:
    """Decode every image of the folder form into the train/val/test splits; any bad file raises DataError."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("no such folder", path=root)
    entries = list_images(root)
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {s: [] for s in SPLITS}
    for file, split, label in entries:
        images[split].append(_read_gray(file))
        labels[split].append(label)
    return FER2013(**{s: Split.from_lists(images[s], labels[s]) for s in SPLITS}, source=str(root))

