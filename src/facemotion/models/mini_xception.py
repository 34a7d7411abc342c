"""mini-Xception (Arriaga et al. 2017), the architecture behind the `fer` package, with a width multiplier."""

from __future__ import annotations

import torch
from torch import nn

from facemotion.labels import NUM_CLASSES
from facemotion.models.layers import EmotionNet, SeparableConv, conv_bn_act
from facemotion.models.registry import register_model

__all__ = ["MiniXception", "mini_xception", "mini_xception_wide"]


class XceptionBlock(nn.Module):
    """Two separable convs and a strided max-pool, with a strided 1x1 conv as the residual path."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2, bias=False), nn.BatchNorm2d(c_out))
        self.main = nn.Sequential(
            SeparableConv(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            SeparableConv(c_out, c_out), nn.BatchNorm2d(c_out),
            nn.MaxPool2d(3, stride=2, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.residual(x)


class MiniXception(EmotionNet):
    """Two plain convs, four residual separable blocks, then a dropout + linear head on pooled features."""

    def __init__(self, *, width: int = 16, dropout: float = 0.2, num_classes: int = NUM_CLASSES) -> None:
        super().__init__(num_classes)
        widths = [width, width * 2, width * 4, width * 8]
        self.stem = nn.Sequential(conv_bn_act(1, width // 2), conv_bn_act(width // 2, width // 2))
        blocks, c = [], width // 2
        for w in widths:
            blocks.append(XceptionBlock(c, w))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def stages(self) -> list[nn.Module]:
        """The stem, then each residual block."""
        return [self.stem, *self.blocks]


@register_model
def mini_xception(**kwargs: object) -> MiniXception:
    """Compact: mini-Xception, widths 16-128 (0.05 M parameters), the architecture of the `fer` package."""
    return MiniXception(**{"width": 16, **kwargs})


@register_model
def mini_xception_wide(**kwargs: object) -> MiniXception:
    """Compact: mini-Xception at twice the width (0.19 M parameters)."""
    return MiniXception(**{"width": 32, **kwargs})
