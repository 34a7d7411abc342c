"""Rebuild a model from a facemotion checkpoint: the checkpoint names its architecture and arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemotion.errors import ModelError
from facemotion.models.registry import create_model

__all__ = ["MAX_PARAMETERS", "model_state", "load_checkpoint", "build_model", "model_from_checkpoint"]

MAX_PARAMETERS = 200_000_000
"""The largest model built from a name and arguments (vgg_xl has 7 M): a typo'd or hostile ``width`` must not
allocate terabytes before the weights are even compared."""


def model_state(model_name: str, model_kwargs: dict[str, Any], model: nn.Module) -> dict[str, Any]:
    """The part of a checkpoint that rebuilds the model: registry name, its arguments and the weights."""
    return {"model": model_name, "model_kwargs": dict(model_kwargs),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict onto the CPU, with an error naming the file when it is missing or not ours."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file, some over many lines
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__
        raise ModelError(f"{path}: not a readable facemotion checkpoint ({reason})") from exc
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "state_dict" not in checkpoint:
        raise ModelError(f"{path}: not a facemotion checkpoint (no model name or weights)")
    config = checkpoint.get("config")
    if config is not None and not isinstance(config, dict):
        raise ModelError(f"{path}: not a facemotion checkpoint (its config is a {type(config).__name__}, not a dict)")
    labels = (config or {}).get("labels")
    if labels is not None and (not isinstance(labels, (list, tuple)) or not all(isinstance(n, str) for n in labels)):
        raise ModelError(f"{path}: not a facemotion checkpoint (its config's labels are not a list of names)")
    return checkpoint


def build_model(name: Any, kwargs: Any, *, source: str | Path, state_dict: Any = None) -> nn.Module:
    """``create_model(name, **kwargs)``, first built on the meta device (shapes only, no memory) to refuse a model
    over :data:`MAX_PARAMETERS`, or whose shapes differ from ``state_dict``'s, before anything is allocated.

    ``source`` names the file (or option) the arguments came from, for the error.
    """
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise ModelError(f"{source}: the model name must be a string and its arguments a dict, got "
                         f"{type(name).__name__} and {type(kwargs).__name__}")
    if state_dict is not None and not isinstance(state_dict, dict):
        raise ModelError(f"{source}: the weights must be a dict of tensors, got {type(state_dict).__name__}")
    try:
        with torch.device("meta"):
            skeleton = create_model(name, **kwargs)
    except ModelError as exc:
        raise ModelError(f"{source}: {exc}") from exc
    except Exception as exc:  # torch raises RuntimeError, ValueError, OverflowError... for absurd arguments
        raise ModelError(f"{source}: cannot build model {name!r} with {kwargs}: {exc}") from exc
    parameters = sum(p.numel() for p in skeleton.parameters())
    if parameters > MAX_PARAMETERS:
        raise ModelError(f"{source}: model {name!r} with {kwargs} would have {parameters:,} parameters, over the "
                         f"limit of {MAX_PARAMETERS:,}")
    if state_dict is not None:
        expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
        given = {k: tuple(v.shape) for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
        if expected != given or len(given) != len(state_dict):
            wrong = sorted(set(expected) ^ set(given)) or sorted(k for k in expected if expected[k] != given[k])
            raise ModelError(f"{source}: weights do not fit model {name!r} with {kwargs} (first mismatches: "
                             f"{', '.join(wrong[:3]) or 'non-tensor entries'})")
    return create_model(name, **kwargs)


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The model in eval mode, and the checkpoint's other entries (config, epoch, metrics)."""
    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint["model"], checkpoint.get("model_kwargs", {}), source=path,
                        state_dict=checkpoint["state_dict"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit model {checkpoint['model']!r}: {exc}") from exc
    model.eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}
