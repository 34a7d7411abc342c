"""``--data PATH`` in every form: FER2013's (CSV, folders, packed) or your own (folders, manifest).

The forms are told apart without decoding: a ``.csv`` with ``path,label`` columns is a manifest (FER2013's has
``emotion,pixels``); a folder with ``train/`` is FER2013's folder form only when it has ``test/``, no ``val/`` and
FER2013's ``PublicTest_``/``PrivateTest_`` file names, else your own split; a folder without ``train/`` holds one
folder per label.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from facemotion.data.cache import default_cache_dir
from facemotion.data.image_folders import (
    has_split_folders,
    is_fer2013_folders,
    list_label_folders,
    list_split_folders,
)
from facemotion.data.manifest import is_manifest, list_manifest
from facemotion.data.own import FaceDecoder, read_own
from facemotion.data.splits import FER2013
from facemotion.defaults import DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION
from facemotion.errors import DataError, FacemotionError

__all__ = ["data_form", "load_dataset"]

logger = logging.getLogger(__name__)


def data_form(path: Path) -> str:
    """``fer2013`` or the form of your own data: ``split-folders``, ``label-folders``, ``manifest``."""
    if not path.exists():
        raise DataError("no such file or folder", path=path)
    if path.is_dir():
        if has_split_folders(path):
            return "fer2013" if is_fer2013_folders(path) else "split-folders"
        return "label-folders"
    return "manifest" if is_manifest(path) else "fer2013"


def load_dataset(path: str | Path, *, decode: FaceDecoder | None = None, labels: Sequence[str] | None = None,
                 val_fraction: float = DEFAULT_VAL_FRACTION,
                 test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0, skip_bad: bool = False,
                 cache_dir: Path | None = None, use_cache: bool = True) -> FER2013:
    """The split arrays of any ``--data`` form, through the array cache.

    Args:
        path: a FER2013 CSV, folder or packed ``.npz``; or your own label folders, split folders or manifest.
        decode: bytes -> 48x48 face crop for your own images (``facemotion.inference.face_crops.face_decoder``);
            required for your own data, unused for FER2013.
        labels: your data's label order (default: sorted names); FER2013 data must not be given other labels.
        val_fraction, test_fraction, seed: the stratified draw of images that have no split.
        skip_bad: leave out unreadable files instead of refusing the data set.
    """
    from facemotion.data import load_fer2013

    path = Path(path)
    form = data_form(path)
    cache = (cache_dir or default_cache_dir()) if use_cache else None
    if form == "fer2013":
        data = load_fer2013(path, cache_dir=cache_dir, use_cache=use_cache)
        if labels is not None and tuple(labels) != data.label_names:
            raise FacemotionError(f"{path} is FER2013, whose labels are {','.join(data.label_names)}; --labels "
                                  f"{','.join(labels)} applies to your own data only")
        return data
    if decode is None:
        raise FacemotionError(f"{path}: your own images need a face decoder (facemotion.inference.face_crops)")
    items = (list_split_folders(path) if form == "split-folders" else list_label_folders(path)
             if form == "label-folders" else list_manifest(path))
    data = read_own(items, decode, source=path, kind=form, labels=labels, val_fraction=val_fraction,
                    test_fraction=test_fraction, seed=seed, skip_bad=skip_bad, cache_dir=cache)
    leaks = data.notes.get("leaks", 0)
    if leaks:
        logger.warning("%s: %d image(s) appear, byte for byte, in more than one split: validation and test figures "
                       "will be too good (a leak)", path, leaks)
    return data
