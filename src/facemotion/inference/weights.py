"""Where classifier weights come from: a packaged name (``default``, ``fast``) or a local file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from facemotion.errors import ModelError

__all__ = ["PACKAGED_MODELS", "packaged_dir", "resolve_model", "model_card"]

PACKAGED_MODELS: tuple[str, ...] = ("default", "fast")


def packaged_dir() -> Path:
    """The folder inside the installed package that holds the shipped ONNX files and their model cards."""
    return Path(str(resources.files("facemotion") / "weights"))


def resolve_model(model: str | Path) -> Path:
    """A packaged model name or a path to an ``.onnx``/``.pt`` file, as an existing path."""
    if isinstance(model, str) and model in PACKAGED_MODELS:
        path = packaged_dir() / f"{model}.onnx"
        if not path.is_file():
            raise ModelError(f"the packaged model {model!r} is missing from {path.parent}; reinstall facemotion")
        return path
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file (expected {', '.join(PACKAGED_MODELS)} or a path to "
                         f".onnx/.pt)")
    return path


def model_card(model: str | Path) -> dict:
    """The JSON model card beside a model file (``x.onnx`` -> ``x.json``), or an empty dict when there is none."""
    import json

    card = resolve_model(model).with_suffix(".json")
    return json.loads(card.read_text()) if card.is_file() else {}
