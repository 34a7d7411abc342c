"""The original project's plain Keras CNN, kept as the baseline to beat: no dropout, no batch norm."""

from __future__ import annotations

import torch
from torch import nn

from facemotion.labels import NUM_CLASSES
from facemotion.models.layers import EmotionNet
from facemotion.models.registry import register_model

__all__ = ["SeedCNN", "seed_cnn"]


class SeedCNN(EmotionNet):
    """conv32-conv64-pool-conv128-pool-conv128-pool, dense 1024, dense 7; valid convolutions as in Keras."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__(num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(128, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128 * 4 * 4, 1024), nn.ReLU(inplace=True),
                                  nn.Linear(1024, num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)


@register_model
def seed_cnn(num_classes: int = NUM_CLASSES) -> SeedCNN:
    """Baseline: the original project's unregularised CNN (2.3 M parameters)."""
    return SeedCNN(num_classes)
