"""Several trained models as one: the mean of their logits.

The ensemble is itself a logits model, so calibration, flip test-time augmentation and ONNX export treat it like
any single network, and the shipped graph stays one file with one temperature.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LogitEnsemble"]


class LogitEnsemble(nn.Module):
    """Average the logits of ``members`` (each a facemotion logits model over raw 0-255 pixels)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(pixels) for member in self.members]).mean(dim=0)
