"""Where classifier weights come from: a packaged name (``default``, ``fast``, ``accurate``) or a local file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from facemotion.errors import ModelError
from facemotion.tiers import PACKAGED_MODELS

__all__ = ["PACKAGED_MODELS", "packaged_dir", "resolve_model", "model_card", "graph_source"]


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
    """The JSON model card beside a model file (``x.onnx`` -> ``x.json``), checked; an empty dict when there is
    none."""
    from facemotion.cards import card_path, read_card

    card = card_path(resolve_model(model))
    return read_card(card) if card.is_file() else {}


def graph_source(source: str | Path) -> tuple[Path, list[int] | None]:
    """``FILE.onnx[1]`` or ``FILE.onnx[0,2]`` -> the graph and the members of its ensemble taken (None: all).

    A path that exists as written is never read as a selection, whatever its name.
    """
    text = str(source)
    if Path(text).exists() or not text.endswith("]") or "[" not in text:
        return Path(text), None
    path, _, picked = text[:-1].rpartition("[")
    try:
        indices = [int(i) for i in picked.split(",")]
    except ValueError:
        raise ModelError(f"{text}: expected FILE.onnx[K] or FILE.onnx[K,L,...] with member numbers") from None
    return Path(path), indices
