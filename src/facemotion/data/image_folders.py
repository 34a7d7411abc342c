"""List your own labelled images in their folder forms, without decoding anything.

Two forms (the data set's name is the folder's):

- ``DIR/train/<label>/*``, ``DIR/val/<label>/*`` and optionally ``DIR/test/<label>/*``: the split is yours (without
  ``val/``, it is drawn from ``train/`` by ``--val-fraction``);
- ``DIR/<label>/*``: one folder per label, split by ``--val-fraction`` and ``--test-fraction``.

Every regular file that is not hidden counts as an image: a file that does not decode is reported, never passed
over in silence. FER2013's own folder form (``train/`` and ``test/`` with ``PublicTest_``/``PrivateTest_`` names) is
told apart by :func:`is_fer2013_folders`.
"""

from __future__ import annotations

from pathlib import Path

from facemotion.data.own import Item
from facemotion.errors import DataError

__all__ = ["SPLIT_FOLDERS", "is_fer2013_folders", "list_split_folders", "list_label_folders", "has_split_folders"]

SPLIT_FOLDERS: tuple[str, ...] = ("train", "val", "test")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def _label_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def has_split_folders(root: Path) -> bool:
    """True when ``root`` holds a ``train/`` folder (the form with your own split)."""
    return (root / "train").is_dir()


def is_fer2013_folders(root: Path) -> bool:
    """FER2013's image-folder form: ``train/`` and ``test/``, no ``val/``, and every test file named by its
    FER2013 usage (``PublicTest_*``/``PrivateTest_*``), the only record of that split."""
    test = root / "test"
    if not (root / "train").is_dir() or not test.is_dir() or (root / "val").exists():
        return False
    names = [f.name for d in _label_dirs(test) for f in _files(d)]
    return bool(names) and all(n.startswith(("PublicTest_", "PrivateTest_")) for n in names)


def _list(folder: Path, split: str | None, root: Path) -> list[Item]:
    labels = _label_dirs(folder)
    stray = _files(folder)
    if stray:
        raise DataError(f"files outside a label folder ({stray[0].name}{' ...' if len(stray) > 1 else ''}); put each "
                        f"image in a folder named by its label", path=folder)
    items = []
    for label_dir in labels:
        files = _files(label_dir)
        if not files:
            raise DataError("a label folder without images", path=label_dir)
        items += [Item(path=f, label=label_dir.name, split=split, name=str(f.relative_to(root))) for f in files]
    return items


def list_split_folders(root: str | Path) -> list[Item]:
    """``train/``, ``val/``, ``test/`` with one subfolder per label; a label in val or test must be in train."""
    root = Path(root)
    items = []
    for split in SPLIT_FOLDERS:
        if (root / split).is_dir():
            items += _list(root / split, split, root)
    extra = sorted(p.name for p in _label_dirs(root) if p.name not in SPLIT_FOLDERS)
    if extra:
        raise DataError(f"unexpected folder(s) {extra} beside train/ (expected train/, val/ and test/ only)", path=root)
    known = {item.label for item in items if item.split == "train"}
    for item in items:
        if item.label not in known:
            raise DataError(f"label {item.label!r} is in {item.split}/ but not in train/ (train/ has "
                            f"{', '.join(sorted(known)) or 'none'})", path=root / item.split / item.label)
    return items


def list_label_folders(root: str | Path) -> list[Item]:
    """``DIR/<label>/*``: every image without a split (the reader draws it)."""
    root = Path(root)
    if not _label_dirs(root):
        raise DataError("no label folders (expected DIR/<label>/ images, or DIR/train/<label>/ ...)", path=root)
    return _list(root, None, root)
