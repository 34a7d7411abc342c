"""Sharpness-aware minimisation (Foret et al., ICLR 2021): each step's gradient is taken at the worst weights within
a radius ``rho`` of the current ones, which favours flat minima that generalise better, at two passes a step."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

__all__ = ["ascended", "norm_statistics_frozen"]


@contextlib.contextmanager
def ascended(model: nn.Module, rho: float) -> Iterator[None]:
    """Inside, every parameter with a gradient stands at ``w + rho * g / ||g||`` (``g`` its current gradient, the
    norm over the whole model); on exit each is restored exactly (a copy, not a subtraction that rounds)."""
    params = [p for p in model.parameters() if p.grad is not None]
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
        scale = rho / (norm + 1e-12)
        for p in params:
            p.add_(p.grad * scale)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, w in zip(params, saved):
                p.copy_(w)


@contextlib.contextmanager
def norm_statistics_frozen(model: nn.Module) -> Iterator[None]:
    """Inside, BatchNorm layers normalise by the batch as in training but leave their running statistics as they
    are: the second pass sees the same batch at perturbed weights and must not count it twice."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
