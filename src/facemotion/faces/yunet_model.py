"""Where the YuNet face-detector model comes from. The wheel ships it (``faces/weights/``, MIT, 230 kB, with its
licence notice beside it), so every install detects with YuNet offline. It is looked for, in this order, at an
explicit path, at ``$FACEMOTION_YUNET_MODEL``, in the user cache where ``facemotion download-models`` puts a copy
(another version, say), and last in the package. Finding it never downloads: only :func:`download_yunet` does, and
only the CLI's ``download-models`` calls it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from facemotion.errors import ModelError
from facemotion.paths import default_cache_dir, sha256_of

__all__ = ["YUNET_ENV", "YUNET_FILENAME", "YUNET_SHA256", "YUNET_URL", "PACKAGED_YUNET", "cached_yunet_path",
           "find_yunet_model", "sha256_of", "download_yunet"]

logger = logging.getLogger(__name__)

YUNET_ENV = "FACEMOTION_YUNET_MODEL"
YUNET_FILENAME = "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
# OpenCV Zoo keeps its models in Git LFS; this address serves the file itself, not the LFS pointer.
YUNET_URL = ("https://media.githubusercontent.com/media/opencv/opencv_zoo/main/models/face_detection_yunet/"
             + YUNET_FILENAME)
PACKAGED_YUNET = Path(__file__).resolve().parent / "weights" / YUNET_FILENAME
"""The copy inside the package (LICENSE-yunet.txt beside it); OpenCV loads models from a real file path."""


def cached_yunet_path(cache_dir: Path | None = None) -> Path:
    """Where ``download-models`` stores YuNet: ``<cache>/models/<file>`` (the path may not exist yet)."""
    return (cache_dir or default_cache_dir()) / "models" / YUNET_FILENAME


def find_yunet_model(path: str | Path | None = None) -> Path | None:
    """The YuNet model file to use: explicit, environment, cache, then the packaged copy; None only when an install
    lost its packaged copy (the caller then falls back to Haar or fails).

    An explicit ``path`` or ``$FACEMOTION_YUNET_MODEL`` that does not exist is an error rather than a silent
    fallback: the user asked for that file.
    """
    if path is not None:
        candidate = Path(path).expanduser()
        if not candidate.is_file():
            raise ModelError(f"{candidate}: no such YuNet model file")
        return candidate
    if env := os.environ.get(YUNET_ENV):
        candidate = Path(env).expanduser()
        if not candidate.is_file():
            raise ModelError(f"{candidate}: no such YuNet model file (from ${YUNET_ENV})")
        return candidate
    cached = cached_yunet_path()
    if cached.is_file():
        return cached
    return PACKAGED_YUNET if PACKAGED_YUNET.is_file() else None


def download_yunet(dest: Path | None = None, *, url: str = YUNET_URL, sha256: str = YUNET_SHA256,
                   timeout: float = 60.0, force: bool = False) -> Path:
    """Fetch YuNet to ``dest`` (file or folder; default :func:`cached_yunet_path`), check its SHA-256, return the path.

    The file is written to a temporary name and renamed only once its hash matches, so a broken download never
    leaves a file that :func:`find_yunet_model` would pick up. An existing file with the right hash is kept; one
    with another hash is replaced where it can only be a damaged copy (the cache, or YuNet's name in a folder given
    as ``dest``): a file named by ``dest`` may be anything (``--dest photo.jpg``), so it is refused unless ``force``.
    """
    import urllib.request

    dest = Path(dest).expanduser() if dest is not None else cached_yunet_path()
    named = not dest.is_dir() and dest != cached_yunet_path()  # a file the user named, which may be anything
    if dest.is_dir():
        dest = dest / YUNET_FILENAME
    if dest.is_file() and not force:
        if sha256_of(dest) == sha256:
            logger.info("YuNet already present at %s", dest)
            return dest
        if named:
            raise ModelError(f"{dest}: exists and is not the YuNet model (another SHA-256); give a folder or a new "
                             f"file name, or --force to replace it")
        logger.warning("%s has the wrong SHA-256; downloading it again", dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
            except OSError as exc:  # URLError, HTTPError and socket timeouts are all OSErrors
                raise ModelError(f"could not download YuNet from {url}: {exc}") from exc
        got = sha256_of(tmp)
        if got != sha256:
            raise ModelError(f"the file downloaded from {url} has SHA-256 {got}, expected {sha256}; not installed")
        tmp.chmod(0o644)  # a model file others may read, not mkstemp's private 0600
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    logger.info("YuNet saved to %s", dest)
    return dest
