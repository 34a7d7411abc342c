"""Rebuild a model from a facemotion checkpoint: the checkpoint names its architecture and arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemotion.errors import ModelError
from facemotion.models.registry import create_model

__all__ = ["model_state", "load_checkpoint", "model_from_checkpoint"]


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
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise ModelError(f"{path}: not a readable facemotion checkpoint ({exc})") from exc
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "state_dict" not in checkpoint:
        raise ModelError(f"{path}: not a facemotion checkpoint (no model name or weights)")
    return checkpoint


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The model in eval mode, and the checkpoint's other entries (config, epoch, metrics)."""
    checkpoint = load_checkpoint(path)
    model = create_model(checkpoint["model"], **checkpoint.get("model_kwargs", {}))
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit model {checkpoint['model']!r}: {exc}") from exc
    model.eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}
