"""Parameter and multiply-accumulate counts, so models can be compared before anyone trains them."""

from __future__ import annotations

import torch
from torch import nn

from facemotion.labels import IMAGE_SIZE

__all__ = ["count_parameters", "count_macs"]


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, size: int = IMAGE_SIZE) -> int:
    """Multiply-accumulates of one forward pass on a ``1x1xsize x size`` input, counting convs and linears."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += output.numel() * k

    def linear_hook(module: nn.Linear, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    # The probe goes where the weights are: fit() counts a model it has already moved to CUDA.
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
