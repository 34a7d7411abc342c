"""The test-time views an exported graph averages over: the face, its mirror, and centred zooms of both.

A centred zoom of a square face is separable, so it is two products with one constant matrix: every ONNX
runtime (the browser's included) runs it, and it equals the training augmentation's bilinear warp with repeated
borders (:func:`facemotion.training.augment.warp` at that scale), the distribution the networks learnt from.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from facemotion.labels import IMAGE_SIZE

__all__ = ["zoom_matrix", "Zoom", "TTAViews", "view_count", "check_zooms", "MIN_ZOOM_GAP", "views_metadata",
           "views_from_metadata"]


MIN_ZOOM_GAP = 0.01
"""How far apart zooms must be (and from 1): 1.08 and 1.0801 resample a 48-pixel face to the same view."""


def check_zooms(zooms: Sequence[float]) -> None:
    """ValueError for a zoom that is not a positive number, or of (about) 1, or given twice: it would cost a pass
    and add nothing."""
    if not all(isinstance(z, numbers.Real) and not isinstance(z, bool) and 0 < z < math.inf for z in zooms):
        raise ValueError(f"zooms must be positive finite numbers, got {list(zooms)}")
    scales = sorted([1.0, *zooms])
    if any(round(b - a, 9) < MIN_ZOOM_GAP for a, b in zip(scales, scales[1:])):  # 1.13 - 1.12 is 0.00999...
        raise ValueError(f"zooms must differ from 1 (the face itself is always a view) and from each other, "
                         f"by at least {MIN_ZOOM_GAP}, got {list(zooms)}")


def views_metadata(flip: bool, zooms: Sequence[float]) -> dict[str, str]:
    """The graph metadata that records its views (``flip_tta``, ``tta_zooms``): written by the exporter and the
    re-exporter, read back by :func:`views_from_metadata`."""
    return {"flip_tta": str(bool(flip)).lower(), "tta_zooms": json.dumps([float(z) for z in zooms])}


def views_from_metadata(metadata: Mapping[str, str]) -> tuple[bool, list[float]]:
    """The views a graph's metadata records (none before zooms existed); ValueError for zooms :func:`check_zooms`
    refuses, since the graph would have been built with views no export makes."""
    try:
        zooms = json.loads(metadata.get("tta_zooms", "[]"))
    except json.JSONDecodeError:
        zooms = None
    if not isinstance(zooms, list):
        raise ValueError(f"tta_zooms must be a JSON list of scales, got {metadata.get('tta_zooms')!r:.80}")
    check_zooms(zooms)
    return metadata.get("flip_tta", "false") == "true", [float(z) for z in zooms]


def zoom_matrix(size: int, scale: float) -> np.ndarray:
    """``(size, size)`` bilinear resampling ``A`` with ``zoomed = A @ image @ A.T``; ``scale`` > 1 zooms in.

    Pixel centres follow ``align_corners=False`` and coordinates past the edge repeat it, as ``grid_sample`` with
    border padding does.
    """
    if scale <= 0:
        raise ValueError(f"a zoom must be positive, got {scale}")
    out = np.arange(size)
    source = np.clip(((2 * out + 1) / size - 1) / scale * size / 2 + size / 2 - 0.5, 0, size - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size - 1)
    weight = source - low
    matrix = np.zeros((size, size))
    np.add.at(matrix, (out, low), 1 - weight)
    np.add.at(matrix, (out, high), weight)
    return matrix.astype(np.float32)


class Zoom(nn.Module):
    """A fixed centred zoom of ``(N, C, size, size)`` images."""

    def __init__(self, scale: float, size: int = IMAGE_SIZE) -> None:
        super().__init__()
        self.scale = float(scale)
        self.register_buffer("matrix", torch.from_numpy(zoom_matrix(size, scale)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.matrix @ x @ self.matrix.T


class TTAViews(nn.Module):
    """The views of a batch, in a fixed order: the face, its mirror (``flip``), then each zoom (and its mirror).

    The first ``1 + flip`` views are the unzoomed ones, whose class activation maps line up with the face. A zoom of
    1 (or within :data:`MIN_ZOOM_GAP` of it) or the same zoom twice is refused: it would cost a pass and add nothing.
    """

    def __init__(self, *, flip: bool = False, zooms: Sequence[float] = ()) -> None:
        super().__init__()
        check_zooms(zooms)
        self.flip = flip
        self.zooms = nn.ModuleList(Zoom(scale) for scale in zooms)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        plain = [x, *(zoom(x) for zoom in self.zooms)]
        views = []
        for view in plain:
            views.append(view)
            if self.flip:
                views.append(torch.flip(view, dims=[3]))
        return views


def view_count(flip: bool, zooms: Sequence[float]) -> int:
    """Passes through the network per face: what a graph with these views costs."""
    return (2 if flip else 1) * (1 + len(zooms))
