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
    """The surface every facemotion classifier shares: raw ``(N, 1, 48, 48)`` pixels in, ``(N, K)`` logits out.

    ``forward_features``/``forward_head`` split body and head; :meth:`reset_classifier` and :meth:`stages` are the
    handles fine-tuning uses (timm's ``reset_classifier``). Subclasses keep their head in ``self.head``, an
    ``nn.Sequential`` whose last ``nn.Linear`` gives the logits.
    """

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

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the logits layer with a freshly initialised one for ``num_classes`` labels; the body is kept."""
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least two classes, got {num_classes}")
        head = self.head
        index = max(i for i, module in enumerate(head) if isinstance(module, nn.Linear))
        old = head[index]
        head[index] = nn.Linear(old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
        self.num_classes = num_classes

    def get_classifier(self) -> nn.Linear:
        """The layer that gives the logits."""
        return [module for module in self.head if isinstance(module, nn.Linear)][-1]

    def stages(self) -> list[nn.Module]:
        """The body in stages from the input, for ``--freeze N``: ``self.features`` cut after each pooling."""
        features = getattr(self, "features", None)
        if not isinstance(features, nn.Sequential):
            raise NotImplementedError(f"{type(self).__name__} does not say what its stages are")
        stages: list[list[nn.Module]] = [[]]
        for module in features:
            stages[-1].append(module)
            if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                stages.append([])
        return [nn.Sequential(*group) for group in stages if group]


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
