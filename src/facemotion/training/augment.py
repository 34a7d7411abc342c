"""Batch-wise augmentation on the device: one small function per operation over ``(B, 1, H, W)`` float tensors.

Every random draw takes an explicit ``torch.Generator`` so a resumed run repeats its epochs exactly.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["affine_matrices", "random_affine_matrices", "warp", "random_affine", "hflip_where", "random_hflip",
           "random_erase", "mixup", "cutmix", "one_hot"]


def _uniform(n: int, low: float, high: float, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (high - low) + low


def affine_matrices(angle_deg: torch.Tensor, scale: torch.Tensor, shift_x: torch.Tensor,
                    shift_y: torch.Tensor) -> torch.Tensor:
    """``(B, 2, 3)`` sampling matrices for ``F.affine_grid``: rotate and scale about the centre, then shift.

    Shifts are fractions of the image size; scale > 1 zooms in.
    """
    theta = angle_deg * math.pi / 180
    cos, sin = torch.cos(theta) / scale, torch.sin(theta) / scale
    row0 = torch.stack([cos, -sin, shift_x * 2], dim=1)
    row1 = torch.stack([sin, cos, shift_y * 2], dim=1)
    return torch.stack([row0, row1], dim=1)


def warp(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Resample every image of ``x`` through its matrix; borders repeat the edge pixels."""
    grid = F.affine_grid(matrices.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_affine_matrices(b: int, gen: torch.Generator, device: torch.device, *, rotate: float, scale: float,
                           shift: float) -> torch.Tensor:
    """``b`` random sampling matrices: rotation (+-``rotate`` degrees), zoom (1 +- ``scale``), shift (+-``shift``)."""
    return affine_matrices(
        _uniform(b, -rotate, rotate, gen, device),
        _uniform(b, 1 - scale, 1 + scale, gen, device),
        _uniform(b, -shift, shift, gen, device),
        _uniform(b, -shift, shift, gen, device),
    )


def random_affine(x: torch.Tensor, gen: torch.Generator, *, rotate: float, scale: float, shift: float) -> torch.Tensor:
    """Random rotation (+-``rotate`` degrees), zoom (1 +- ``scale``), shift (+-``shift`` of the size): one resample."""
    return warp(x, random_affine_matrices(x.shape[0], gen, x.device, rotate=rotate, scale=scale, shift=shift))


def hflip_where(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Mirror left-right the images of ``x`` where the boolean ``(B,)`` ``flip`` is set."""
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_hflip(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``: faces are near-symmetric, emotions fully so."""
    return hflip_where(x, torch.rand(x.shape[0], generator=gen, device=x.device) < p)


def random_erase(x: torch.Tensor, gen: torch.Generator, p: float = 0.5, area: tuple[float, float] = (0.02, 0.2),
                 ) -> torch.Tensor:
    """Blank a random rectangle (filled with noise in the image's range) with probability ``p`` per image.

    Forces the net to read expression from more than one region (eyes or mouth alone).
    """
    b, _, h, w = x.shape
    device = x.device
    frac = _uniform(b, area[0], area[1], gen, device)
    aspect = torch.exp(_uniform(b, math.log(0.3), math.log(3.3), gen, device))
    eh = (torch.sqrt(frac * aspect) * h).clamp(1, h)
    ew = (torch.sqrt(frac / aspect) * w).clamp(1, w)
    y0 = torch.rand(b, generator=gen, device=device) * (h - eh)
    x0 = torch.rand(b, generator=gen, device=device) * (w - ew)
    rows = torch.arange(h, device=device)[None, :, None]
    cols = torch.arange(w, device=device)[None, None, :]
    inside = ((rows >= y0[:, None, None]) & (rows < (y0 + eh)[:, None, None])
              & (cols >= x0[:, None, None]) & (cols < (x0 + ew)[:, None, None]))
    apply = torch.rand(b, generator=gen, device=device) < p
    mask = (inside & apply[:, None, None])[:, None]
    noise = torch.rand(x.shape, generator=gen, device=device, dtype=x.dtype) * 255
    return torch.where(mask, noise, x)


def _beta(alpha: float, gen: torch.Generator) -> float:
    """A Beta(alpha, alpha) draw seeded from ``gen`` (torch's Beta sampler cannot take a generator)."""
    if alpha <= 0:
        return 1.0
    seed = int(torch.randint(2**31 - 1, (1,), generator=gen, device=gen.device).item())
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Float one-hot targets, the form mixup and cutmix blend."""
    return F.one_hot(labels, num_classes).float()


def mixup(x: torch.Tensor, targets: torch.Tensor, gen: torch.Generator, alpha: float,
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend the batch with a shuffled copy of itself by a Beta(alpha, alpha) weight, images and targets alike."""
    lam = _beta(alpha, gen)
    perm = torch.randperm(x.shape[0], generator=gen, device=x.device)
    return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]


def cutmix(x: torch.Tensor, targets: torch.Tensor, gen: torch.Generator, alpha: float,
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a random box from a shuffled copy of the batch; targets mix by the pasted area."""
    b, _, h, w = x.shape
    lam = _beta(alpha, gen)
    cut = math.sqrt(1 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy = int(torch.randint(h, (1,), generator=gen, device=x.device).item())
    cx = int(torch.randint(w, (1,), generator=gen, device=x.device).item())
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    perm = torch.randperm(b, generator=gen, device=x.device)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    kept = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return x, kept * targets + (1 - kept) * targets[perm]
