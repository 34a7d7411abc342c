"""Heatmaps for explained faces: which labels to keep, and the crop's maps placed back in the photo.

The classifier returns each crop's class activation maps on a small grid; :func:`face_heatmap` keeps the asked
labels and composes the grid's scale with the crop's affine (from :func:`facemotion.faces.align.crop_to_image`),
so the map lands on the face in the photo, rotation included. :func:`render_heatmap` paints one label's map at the
photo's resolution, for drawing.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facemotion.errors import FacemotionError
from facemotion.types import Heatmap

__all__ = ["Explain", "explain_labels", "face_heatmap", "heatmap_bounds", "render_heatmap"]

Explain = bool | str | Sequence[str]
"""``False`` (no heatmaps), ``True``/``"top"`` (the most probable label), ``"all"``, or label names."""


def explain_labels(explain: Explain, labels: Sequence[str]) -> tuple[str, ...] | str | None:
    """``None`` for no heatmaps, ``"top"`` for each face's top label, else the label names to map (checked)."""
    if explain is False or explain is None:
        return None
    if explain is True or explain == "top":
        return "top"
    if explain == "all":
        return tuple(labels)
    names = (explain,) if isinstance(explain, str) else tuple(explain)
    unknown = [name for name in names if name not in labels]
    if unknown or not names:
        raise FacemotionError(f"explain: unknown label(s) {unknown or names!r}; expected 'top', 'all' or names from "
                              f"{', '.join(labels)}")
    return names


def face_heatmap(maps: np.ndarray, keep: Sequence[str], labels: Sequence[str], crop_matrix: np.ndarray,
                 crop_size: int) -> Heatmap:
    """One face's ``(K, h, w)`` maps, cut to the ``keep`` labels, with the affine from grid to photo."""
    _, h, w = maps.shape
    scale = np.diag([crop_size / w, crop_size / h, 1.0])
    matrix = np.asarray(crop_matrix, np.float64) @ scale
    index = {label: i for i, label in enumerate(labels)}
    return Heatmap(matrix=matrix.tolist(), maps={label: maps[index[label]].tolist() for label in keep})


def heatmap_bounds(heatmap: Heatmap, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the photo pixels the heatmap covers, clipped to a ``width`` x ``height`` photo."""
    h, w = heatmap.size
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ np.asarray(heatmap.matrix).T
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height)


def render_heatmap(heatmap: Heatmap, label: str, width: int, height: int, *,
                   origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``(height, width)`` float32 in [0, 1]: the label's positive evidence over its maximum, 0 off the face.

    The output covers the photo from pixel ``origin`` (x, y), so a caller can render only the face's region.
    Negative cells (evidence against the label) are clipped, the usual CAM display; the grid is interpolated
    bilinearly, so the map is smooth at photo resolution.
    """
    grid = np.maximum(np.asarray(heatmap.maps[label], np.float32), 0.0)
    peak = float(grid.max())
    grid = grid / peak if peak > 0 else grid
    matrix = np.asarray(heatmap.matrix, np.float64).copy()
    matrix[:, 2] += matrix[:, :2].sum(axis=1) * 0.5 - 0.5 - np.asarray(origin)  # cv2 maps pixel centres
    out = cv2.warpAffine(grid, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.ones_like(grid), matrix, (width, height), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT)  # the crop's square, rotated: 0 elsewhere
    return out * inside
