"""Cache decoded FER2013 arrays as an uncompressed .npz keyed by the source's paths, sizes and mtimes.

Decoding 35,887 JPEGs or 83 M pixel strings takes seconds; reading one .npz back takes well under one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from facemotion.data.splits import FER2013, SPLITS, Split
from facemotion.labels import EMOTIONS
from facemotion.paths import default_cache_dir

__all__ = ["source_key", "default_cache_dir", "load_cached", "save_cached"]


def source_key(source: Path) -> str:
    """A key that changes whenever the source file, or any file under the source folder, changes."""
    digest = hashlib.sha256(os.fsencode(source.resolve()))
    if source.is_file():
        stat = source.stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    else:
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                    state = f"{stat.st_size}:{stat.st_mtime_ns}"
                except OSError:  # a dangling link: the reader says what it makes of it; its target may appear later
                    state = "unreadable"
                digest.update(os.fsencode(f"{path}:{state}\n"))
    return digest.hexdigest()[:24]


def _cache_file(cache_dir: Path, key: str) -> Path:
    return cache_dir / "fer2013" / f"{key}.npz"


def load_cached(cache_dir: Path, key: str, source: str) -> FER2013 | None:
    """The cached arrays for ``key``, or None when there are none (or the cache file is damaged)."""
    file = _cache_file(cache_dir, key)
    if not file.is_file():
        return None
    try:
        with np.load(file) as npz:
            splits = {s: Split(npz[f"{s}_images"], npz[f"{s}_labels"]) for s in SPLITS}
            extra = json.loads(str(npz["dataset_json"])) if "dataset_json" in npz.files else {}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if "label_names" in extra:
        return FER2013(**splits, source=source, label_names=tuple(extra["label_names"]), notes=extra.get("notes", {}))
    return FER2013(**splits, source=source)


def save_cached(cache_dir: Path, key: str, data: FER2013) -> Path:
    """Write the arrays atomically, so a crash never leaves a half-written cache that a later load would trust."""
    file = _cache_file(cache_dir, key)
    file.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for s in SPLITS:
        arrays[f"{s}_images"] = data.split(s).images
        arrays[f"{s}_labels"] = data.split(s).labels
    if data.label_names != EMOTIONS or data.notes:
        arrays["dataset_json"] = np.array(json.dumps({"label_names": list(data.label_names), "notes": data.notes}))
    fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return file
