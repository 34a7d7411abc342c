"""Training (torch): config, on-device augmentation, optimiser, loop, checkpoints and the fit() driver."""

from __future__ import annotations

from facemotion.training.config import TrainConfig
from facemotion.training.fit import fit

__all__ = ["TrainConfig", "fit"]
