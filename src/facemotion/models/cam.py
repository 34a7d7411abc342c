"""Class activation maps: where on the face each label's logit comes from.

A facemotion network that ends in global average pooling and a linear layer computes each logit as the spatial
mean of ``W_k . F(h, w) + b_k`` over its last feature maps ``F``. That map is the class activation map (CAM): exact,
not an approximation, and one small matrix product on top of the features the classifier computes anyway.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from facemotion.errors import NoHeatmapsError
from facemotion.models.ensemble import LogitEnsemble

__all__ = ["supports_cam", "class_activation_maps", "logits_and_maps", "head_linear"]


def head_linear(model: nn.Module) -> nn.Linear | None:
    """The linear layer of a pooled head (AdaptiveAvgPool2d(1), Flatten, optional Dropout, Linear), else None."""
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Sequential) or not hasattr(model, "forward_features"):
        return None
    layers = [m for m in head if not isinstance(m, nn.Dropout)]
    if (len(layers) == 3 and isinstance(layers[0], nn.AdaptiveAvgPool2d) and layers[0].output_size in (1, (1, 1))
            and isinstance(layers[1], nn.Flatten) and isinstance(layers[2], nn.Linear)):
        return layers[2]
    return None


def supports_cam(model: nn.Module) -> bool:
    """True when every network in ``model`` ends in global average pooling and a linear layer."""
    if isinstance(model, LogitEnsemble):
        return all(supports_cam(member) for member in model.members)
    return head_linear(model) is not None


def class_activation_maps(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """``(N, 1, 48, 48)`` raw pixels -> ``(N, K, h, w)`` maps in logit units whose spatial mean is each logit."""
    return logits_and_maps(model, pixels)[1]


def logits_and_maps(model: nn.Module, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits ``(N, K)`` and their maps ``(N, K, h, w)`` from one pass over the features.

    The logits take the model's own head, so they are the numbers ``model(pixels)`` gives. An ensemble averages its
    members' maps (resized to the first member's grid if their grids differ), as it averages their logits.
    """
    if isinstance(model, LogitEnsemble):
        pairs = [logits_and_maps(member, pixels) for member in model.members]
        size = pairs[0][1].shape[-2:]
        maps = [m if m.shape[-2:] == size else F.interpolate(m, size=size, mode="bilinear", align_corners=False)
                for _, m in pairs]
        return torch.stack([logits for logits, _ in pairs]).mean(dim=0), torch.stack(maps).mean(dim=0)
    linear = head_linear(model)
    if linear is None:
        raise NoHeatmapsError(f"{type(model).__name__} has no pooled linear head, so it has no class activation maps")
    features = model.forward_features(model.normalize(pixels))
    n, _, h, w = features.shape
    # A matrix product rather than a 1x1 conv, so a graph's Conv nodes stay the network's own.
    maps = features.flatten(2).transpose(1, 2) @ linear.weight.t() + linear.bias
    return model.forward_head(features), maps.transpose(1, 2).reshape(n, -1, h, w)
