"""A timm-like model registry: each variant is a decorated factory named by its function."""

from __future__ import annotations

import difflib
from typing import Any, Callable

from torch import nn

from facemotion.errors import ModelError

__all__ = ["register_model", "create_model", "list_models", "model_description"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register ``fn`` under its own name; the module that defines it must be imported by ``facemotion.models``."""
    if fn.__name__ in _REGISTRY:
        raise ModelError(f"model {fn.__name__!r} is registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_REGISTRY)


def model_description(name: str) -> str:
    """The first line of the factory's docstring."""
    doc = _factory(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _factory(name: str) -> Callable[..., nn.Module]:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ModelError(f"unknown model {name!r}{hint} Known models: {', '.join(list_models())}")
    return _REGISTRY[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name``; ``kwargs`` override its defaults (width, depth, dropout...)."""
    try:
        return _factory(name)(**kwargs)
    except TypeError as exc:
        raise ModelError(f"bad arguments for model {name!r}: {exc}") from exc
