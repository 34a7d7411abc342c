"""Small labelled image sets on disk, as a researcher would bring them: PNG and JPEG, RGB and gray, several sizes."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

LABELS3 = ("negative", "neutral", "positive")


def face_image(label: int, seed: int, size: int = 64, *, color: bool = False) -> np.ndarray:
    """A learnable image: a bright vertical band whose position is the label, on noise; gray or BGR."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, size=(size, size)).astype(np.int64)
    band = size // 4
    image[:, label * band + band // 2:label * band + band // 2 + band] += 180
    gray = image.clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) if color else gray


def write_image(path: Path, label: int, seed: int) -> Path:
    """PNG or JPEG by the path's suffix; size and colour vary with the seed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = (48, 64, 96, 130)[seed % 4]
    image = face_image(label, seed, size, color=seed % 2 == 1)
    assert cv2.imwrite(str(path), image)
    return path


def label_folders(root: Path, per_label: int = 12, labels: tuple[str, ...] = LABELS3) -> Path:
    """``root/<label>/*``, alternating PNG and JPEG."""
    for k, name in enumerate(labels):
        for i in range(per_label):
            write_image(root / name / f"img{i:03d}.{'png' if i % 2 else 'jpg'}", k, seed=100 * k + i)
    return root


def split_folders(root: Path, per_label: dict[str, int] | None = None,
                  labels: tuple[str, ...] = LABELS3) -> Path:
    """``root/{train,val,test}/<label>/*``."""
    per_label = per_label or {"train": 10, "val": 4, "test": 3}
    for s, (split, n) in enumerate(per_label.items()):
        for k, name in enumerate(labels):
            for i in range(n):
                write_image(root / split / name / f"{split}{i:03d}.{'png' if i % 2 else 'jpg'}", k,
                            seed=1000 * s + 100 * k + i)
    return root


def manifest(root: Path, rows: list[tuple[str, str, str]], name: str = "faces.csv") -> Path:
    """A ``path,label,split`` CSV at ``root/name``."""
    path = root / name
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        writer.writerows(rows)
    return path
