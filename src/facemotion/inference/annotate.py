"""Draw face boxes and ``emotion confidence`` labels on a copy of an image (for ``predict --annotate`` and video)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facemotion.types import FaceResult

__all__ = ["EMOTION_COLORS", "annotate", "label_lines"]

EMOTION_COLORS: dict[str, tuple[int, int, int]] = {  # BGR, told apart at a glance
    "angry": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 40, 160), "happy": (0, 200, 255),
    "sad": (200, 120, 30), "surprise": (220, 220, 0), "neutral": (200, 200, 200),
}


def label_lines(face: FaceResult, top_k: int = 1) -> list[str]:
    """``["happy 0.91", "neutral 0.05", ...]``: the ``top_k`` most probable emotions, one line each."""
    return [f"{emotion} {probability:.2f}" for emotion, probability in face.top_k(max(top_k, 1))]


def annotate(image: np.ndarray, faces: Sequence[FaceResult], *, top_k: int = 1,
             titles: Sequence[str] | None = None) -> np.ndarray:
    """A copy of a BGR image with each face boxed and labelled; line and text sizes follow the image size.

    ``titles``, one per face, go before the first label line (the video layer passes track ids: ``#2 happy 0.91``).
    """
    if titles is not None and len(titles) != len(faces):
        raise ValueError(f"annotate: got {len(titles)} titles for {len(faces)} faces")
    out = np.ascontiguousarray(image).copy()
    height, width = out.shape[:2]
    scale = max(min(width, height) / 800.0, 0.4)
    thickness = max(1, round(2 * scale))
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale
    for i, face in enumerate(faces):
        color = EMOTION_COLORS[face.emotion]
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
