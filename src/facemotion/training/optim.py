"""Optimisers with weight decay only on weights (not norms or biases), and learning rate as a pure function of step."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["build_optimizer", "lr_at", "set_lr", "steps_per_epoch"]


def steps_per_epoch(images: int, batch_size: int) -> int:
    """Optimizer steps in an epoch of ``images``: full batches only, a tiny last batch adds noise to BatchNorm
    statistics; one (short) batch when there are fewer images than that. The schedule, the loop and the DDP split
    all count with this."""
    return max(images // batch_size, 1)


def _groups(params: list[nn.Parameter], weight_decay: float, lr_scale: float) -> list[dict]:
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay, "lr_scale": lr_scale},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0, "lr_scale": lr_scale}]


def build_optimizer(model: nn.Module, *, name: str, lr: float, weight_decay: float,
                    momentum: float = 0.9, head: nn.Module | None = None,
                    body_lr: float = 1.0) -> torch.optim.Optimizer:
    """SGD (Nesterov) or AdamW over two groups: decayed >=2-D weights and undecayed norms/biases.

    With ``head`` and ``body_lr`` < 1 (fine-tuning), everything but ``head`` learns at ``body_lr`` times the rate:
    each group carries its ``lr_scale``, which :func:`set_lr` applies.
    """
    head_ids = {id(p) for p in head.parameters()} if head is not None and body_lr != 1.0 else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    if head_ids:
        groups = [g for g in (_groups([p for p in trainable if id(p) in head_ids], weight_decay, 1.0)
                              + _groups([p for p in trainable if id(p) not in head_ids], weight_decay, body_lr))
                  if g["params"]]
    else:
        groups = _groups(trainable, weight_decay, 1.0)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=True)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; expected sgd or adamw")


def lr_at(step: int, total_steps: int, *, base_lr: float, schedule: str, warmup_steps: int) -> float:
    """The learning rate at ``step`` of ``total_steps``.

    ``onecycle``: linear warm-up from base/25 to base, then cosine down to base/1e4 (Smith's one-cycle).
    ``cosine``: linear warm-up from 0, then cosine down to 0.
    ``constant``: linear warm-up from 0, then ``base_lr`` throughout (the original project's Keras Adam).
    Being a pure function of the step, it needs no scheduler state to resume.
    """
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    start = base_lr / 25 if schedule == "onecycle" else 0.0
    end = base_lr / 1e4 if schedule == "onecycle" else 0.0
    if step < warmup_steps:
        return start + (base_lr - start) * step / warmup_steps
    if schedule == "constant":
        return base_lr
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return end + (base_lr - end) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
