"""Where facemotion keeps files it fetches or derives: one cache folder, shared by every layer."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["default_cache_dir", "sha256_of", "write_atomic"]


def default_cache_dir() -> Path:
    """``$FACEMOTION_CACHE``, else ``$XDG_CACHE_HOME/facemotion``, else ``~/.cache/facemotion``.

    Only resolves the path; nothing is created here, so calling it never writes to disk.
    """
    if env := os.environ.get("FACEMOTION_CACHE"):
        return Path(env).expanduser()  # '~/cache' in a service file is not a folder named ~ here
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facemotion"


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks (downloads are checked and teachers recorded with it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename it over ``path``: a process killed at any
    moment leaves either the old file or the new one, never half of one (checkpoints, manifests and caches all
    write through here). ``mode`` sets the file's permissions before the rename (else they are mkstemp's 0600)."""
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
