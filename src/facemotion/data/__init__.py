"""FER2013 and your own labelled images: reading, validation, splitting and caching; numpy only, so it never
imports torch (nor ``faces``: your own photos are cropped by a function passed in, see :mod:`.own`)."""

from __future__ import annotations

import logging
from pathlib import Path

from facemotion.data.cache import default_cache_dir, load_cached, save_cached, source_key
from facemotion.data.datasets import data_form, load_dataset
from facemotion.data.fer2013_csv import read_csv
from facemotion.data.fer2013_folders import read_folders
from facemotion.data.packed import PACKED_SUFFIX, read_packed, write_packed
from facemotion.data.splits import FER2013, SPLITS, Split
from facemotion.errors import DataError

__all__ = ["FER2013", "SPLITS", "Split", "load_fer2013", "read_csv", "read_folders", "read_packed", "write_packed",
           "default_cache_dir", "data_form", "load_dataset"]

logger = logging.getLogger(__name__)


def load_fer2013(path: str | Path, *, cache_dir: Path | None = None, use_cache: bool = True) -> FER2013:
    """Load FER2013 from its CSV (``.csv``/``.csv.gz``), its image-folder form or a packed ``.npz``, through the
    array cache.

    Args:
        path: the CSV file, the folder holding ``train/`` and ``test/``, or a packed ``.npz``
            (:mod:`facemotion.data.packed`).
        cache_dir: where decoded arrays are kept; defaults to :func:`default_cache_dir`.
        use_cache: read and write the cache; False always decodes the source.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path=path)
    reader = read_folders if path.is_dir() else read_packed if path.suffix == PACKED_SUFFIX else read_csv
    if not use_cache:
        return reader(path)
    cache_dir = cache_dir or default_cache_dir()
    key = source_key(path)
    cached = load_cached(cache_dir, key, str(path))
    if cached is not None:
        logger.debug("loaded %s from cache %s", path, key)
        return cached
    data = reader(path)
    try:
        save_cached(cache_dir, key, data)
    except OSError as exc:
        logger.warning("could not write the data cache in %s: %s", cache_dir, exc)
    return data
