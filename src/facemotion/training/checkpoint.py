"""Checkpoints written atomically: a run killed at any moment leaves the previous file whole."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from facemotion.paths import write_atomic

__all__ = ["save_atomic", "BEST", "LAST"]

BEST = "best.pt"
LAST = "last.pt"


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """Serialise in memory, then :func:`~facemotion.paths.write_atomic`: a temporary file beside ``path``, fsync,
    rename over ``path`` (a run killed at any moment leaves the previous checkpoint whole)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomic(path, buffer.getvalue())
