"""Building blocks shared by the model families, written once."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PerImageStandardize", "EmotionNet", "conv_bn_act", "SeparableConv"]


class PerImageStandardize(nn.Module):
    """Standardise each image to zero mean and unit variance.

    Models take raw 0-255 grayscale pixels. Standardising per image makes them blind to the per-image
    contrast stretch of our FER2013 copy (an affine change of intensity), so a stretched training crop and
    an unstretched face cut from a photo look the same to the network. It lives inside the model, and so
    inside the exported ONNX graph: no consumer re-implements preprocessing.
    """

    def __init__(self, eps: float = 1.0) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps)


class EmotionNet(nn.Module):
    """The surface every facemotion classifier shares: raw ``(N, 1, 48, 48)`` pixels in, ``(N, 7)`` logits out."""

    num_classes: int

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.normalize = PerImageStandardize()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(self.normalize(x)))


def conv_bn_act(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, *, norm: bool = True) -> nn.Sequential:
    """Conv, optional BatchNorm, ReLU: the unit of every plain stage."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1: the Xception unit, a fraction of a full conv's cost."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        )
