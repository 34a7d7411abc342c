"""A VGG-style family whose width and depth scale by argument: the accurate models."""

from __future__ import annotations

import torch
from torch import nn

from facemotion.labels import NUM_CLASSES
from facemotion.models.layers import EmotionNet, conv_bn_act
from facemotion.models.registry import register_model

__all__ = ["VGG", "vgg_xs", "vgg_s", "vgg_m", "vgg_l", "vgg_xl"]


class VGG(EmotionNet):
    """Four stages of ``depth`` 3x3 conv-BN-ReLU units (widths w, 2w, 4w, 8w) with 2x2 max-pools between them.

    48 -> 24 -> 12 -> 6: the last stage sees the whole face at 6x6, then global average pooling and a dropout +
    linear head. Global pooling keeps the parameter count small and lets the net accept other input sizes.
    """

    def __init__(self, *, width: int = 32, depth: int = 2, dropout: float = 0.3,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__(num_classes)
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be positive, got width={width}, depth={depth}")
        stages: list[nn.Module] = []
        c = 1
        for i, mult in enumerate((1, 2, 4, 8)):
            for _ in range(depth):
                stages.append(conv_bn_act(c, width * mult))
                c = width * mult
            if i < 3:
                stages.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)


@register_model
def vgg_xs(**kwargs: object) -> VGG:
    """Tiny: VGG width 8, 2 convs per stage (0.07 M parameters), the first `fast` model (62.27 %)."""
    return VGG(**{"width": 8, "depth": 2, **kwargs})


@register_model
def vgg_s(**kwargs: object) -> VGG:
    """Fast: VGG width 16, 2 convs per stage (0.3 M parameters), the shipped `fast` model."""
    return VGG(**{"width": 16, "depth": 2, **kwargs})


@register_model
def vgg_m(**kwargs: object) -> VGG:
    """Accurate: VGG width 24, 2 convs per stage (0.66 M parameters), the networks of `default` and `accurate`."""
    return VGG(**{"width": 24, "depth": 2, **kwargs})


@register_model
def vgg_l(**kwargs: object) -> VGG:
    """Accurate, large: VGG width 32, 2 convs per stage (1.2 M parameters)."""
    return VGG(**{"width": 32, "depth": 2, **kwargs})


@register_model
def vgg_xl(**kwargs: object) -> VGG:
    """Accurate, GPU-sized: VGG width 64, 3 convs per stage (about 7 M parameters)."""
    return VGG(**{"width": 64, "depth": 3, **kwargs})
