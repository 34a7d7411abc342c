"""Where facemotion keeps files it fetches or derives: one cache folder, shared by every layer."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir"]


def default_cache_dir() -> Path:
    """``$FACEMOTION_CACHE``, else ``$XDG_CACHE_HOME/facemotion``, else ``~/.cache/facemotion``.

    Only resolves the path; nothing is created here, so calling it never writes to disk.
    """
    if env := os.environ.get("FACEMOTION_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facemotion"
