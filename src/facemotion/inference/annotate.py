"""Draw face boxes, ``emotion confidence`` labels and heatmaps on a copy of an image (``predict --annotate``/
``--explain``, video)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import cv2
import numpy as np

from facemotion.inference.explain import heatmap_bounds, render_heatmap
from facemotion.types import FaceResult

__all__ = ["EMOTION_COLORS", "annotate", "draw_heatmaps", "label_color", "label_lines"]

EMOTION_COLORS: dict[str, tuple[int, int, int]] = {  # BGR, told apart at a glance
    "angry": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 40, 160), "happy": (0, 200, 255),
    "sad": (200, 120, 30), "surprise": (220, 220, 0), "neutral": (200, 200, 200),
}
_PALETTE: tuple[tuple[int, int, int], ...] = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214),
                                              (189, 103, 148), (75, 86, 140), (194, 119, 227), (34, 189, 188))


def label_color(name: str) -> tuple[int, int, int]:
    """The BGR colour of a label: FER2013's fixed ones, else one picked by the name (stable across runs and
    processes), so any model's labels get colours without a table."""
    return EMOTION_COLORS.get(name) or _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def label_lines(face: FaceResult, top_k: int = 1) -> list[str]:
    """``["happy 0.91", "neutral 0.05", ...]``: the ``top_k`` most probable emotions, one line each."""
    return [f"{emotion} {probability:.2f}" for emotion, probability in face.top_k(max(top_k, 1))]


def draw_heatmaps(image: np.ndarray, faces: Sequence[FaceResult], *, opacity: float = 0.6) -> np.ndarray:
    """A copy of a BGR image with each explained face's heatmap for the label it shows (``face.emotion``) blended
    over it.

    A face whose heatmap has no map for that label (explained for other labels only) is left undrawn: a map is
    never captioned with another label's name. Hot cells are drawn opaque and cold ones transparent, so the face
    shows through where the model did not look.
    """
    out = np.ascontiguousarray(image).copy()
    height, width = out.shape[:2]
    for face in faces:
        if face.heatmap is None or face.emotion not in face.heatmap.maps:
            continue
        label = face.emotion
        x0, y0, x1, y1 = heatmap_bounds(face.heatmap, width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        heat = render_heatmap(face.heatmap, label, x1 - x0, y1 - y0, origin=(x0, y0))
        colors = cv2.applyColorMap(np.round(heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
        alpha = (opacity * heat)[..., None]
        region = out[y0:y1, x0:x1]
        if region.ndim == 2:
            colors, alpha = cv2.cvtColor(colors, cv2.COLOR_BGR2GRAY), alpha[..., 0]
        region[:] = np.round(region * (1.0 - alpha) + colors * alpha).astype(np.uint8)
    return out


def annotate(image: np.ndarray, faces: Sequence[FaceResult], *, top_k: int = 1,
             titles: Sequence[str] | None = None, heatmaps: bool = False) -> np.ndarray:
    """A copy of a BGR image with each face boxed and labelled; line and text sizes follow the image size.

    ``titles``, one per face, go before the first label line (the video layer passes track ids: ``#2 happy 0.91``).
    ``heatmaps`` first blends in the heatmaps of explained faces (:func:`draw_heatmaps`).
    """
    if titles is not None and len(titles) != len(faces):
        raise ValueError(f"annotate: got {len(titles)} titles for {len(faces)} faces")
    out = draw_heatmaps(image, faces) if heatmaps else np.ascontiguousarray(image).copy()
    height, width = out.shape[:2]
    scale = max(min(width, height) / 800.0, 0.4)
    thickness = max(1, round(2 * scale))
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale
    for i, face in enumerate(faces):
        color = label_color(face.emotion)
        x, y, w, h = face.box.to_tuple()
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), color, thickness, cv2.LINE_AA)
        lines = label_lines(face, top_k)
        if titles is not None and titles[i]:
            lines[0] = f"{titles[i]} {lines[0]}"
        sizes = [cv2.getTextSize(line, font, font_scale, thickness) for line in lines]
        line_h = max(s[0][1] + s[1] for s in sizes) + 2 * thickness
        block_w = max(s[0][0] for s in sizes) + 2 * thickness
        block_h = line_h * len(lines)
        top = y - block_h if y - block_h >= 0 else min(y + h, height - block_h)  # above the box, else below it
        top = max(top, 0)
        cv2.rectangle(out, (x, top), (x + block_w, top + block_h), color, cv2.FILLED)
        text_color = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)
        for j, (line, ((_, text_h), _)) in enumerate(zip(lines, sizes)):
            origin = (x + thickness, top + j * line_h + text_h + thickness)
            cv2.putText(out, line, origin, font, font_scale, text_color, thickness, cv2.LINE_AA)
    return out
