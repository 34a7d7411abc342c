"""The packaged model tiers: the one list of their names. Standard library only, so the command line's help can
name them without loading a runtime (``inference.weights`` finds their files)."""

from __future__ import annotations

__all__ = ["PACKAGED_MODELS"]

PACKAGED_MODELS: tuple[str, ...] = ("default", "fast", "accurate")
"""``default`` (balanced), ``fast`` (cheapest), ``accurate`` (strongest); each ships as ``weights/NAME.onnx``."""
