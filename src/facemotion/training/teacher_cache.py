"""The run folder's cache of a teacher's scores, so a resumed run does not pay for scoring the training set again.

A cache is keyed by the teacher file's hash, the training images' hash and the settings that shaped the scores: a
changed teacher, data or setting never reuses stale scores, and a lost or damaged file is rebuilt exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from facemotion.paths import write_atomic

__all__ = ["Layout", "cache_key", "read_cached", "write_cached"]

logger = logging.getLogger(__name__)


def cache_key(teacher_sha: str, images: np.ndarray, **settings: Any) -> str:
    """The key of the scores of ``images`` by the teacher whose file hashes to ``teacher_sha``, under ``settings``."""
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
    return json.dumps({"teacher_sha256_16": teacher_sha, "images_sha256_16": digest, **settings}, sort_keys=True)


Layout = dict[str, tuple[tuple[int, ...], type]]
"""Each array a cache must hold: its exact shape and dtype."""


def read_cached(cache: Path | None, key: str, layout: Layout) -> dict[str, np.ndarray] | None:
    """The arrays of ``layout`` stored in ``cache`` when it was built for ``key`` and holds each with its shape and
    dtype, every float finite; None (logged) when it is missing, stale, damaged or otherwise shaped."""
    if cache is None or not cache.is_file():
        return None
    try:
        with np.load(cache) as stored:
            if str(stored["key"]) != key:
                logger.info("%s was built from another teacher, data or settings; scoring again", cache)
                return None
            arrays = {name: stored[name] for name in layout}
    except Exception as exc:  # np.load fails on a damaged file in many ways (EOF, zip, pickle, shape, missing)
        logger.warning("%s: unreadable (%s: %s); scoring again", cache, type(exc).__name__, exc)
        return None
    for name, (shape, dtype) in layout.items():
        array = arrays[name]
        if array.shape != shape or array.dtype != np.dtype(dtype) or (
                np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all()):
            logger.warning("%s: %s is %s %s, not finite %s %s; scoring again", cache, name, array.dtype,
                           array.shape, np.dtype(dtype), shape)
            return None
    return arrays


def write_cached(cache: Path, key: str, **arrays: np.ndarray) -> None:
    """Store ``arrays`` under ``key`` atomically: an interrupted write leaves the old file or none."""
    buffer = io.BytesIO()
    np.savez(buffer, key=np.array(key), **arrays)
    write_atomic(cache, buffer.getvalue())
