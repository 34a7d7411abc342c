"""Consistent distillation: the teacher scores every training image under a few fixed random views (the run's own
geometry and flips), and the student trains on those same views, so its soft targets describe the picture it sees.

With plain ``--teacher`` the targets are the teacher's answer for the un-augmented face, whatever a step's rotation,
zoom or shift did to it; "Knowledge distillation: a good teacher is patient and consistent" (Beyer et al., 2022)
finds the student learns more when teacher and student see the same view. Scoring every augmented batch would run
the teacher (``accurate`` costs sixteen ``vgg_m`` passes) on every step; a bank of V views per image costs V
teacher passes over the training set once, and is cached in the run folder so a resumed run does not pay it again.
Random erasing, mixup and CutMix still draw afresh on every step, after the view.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facemotion.labels import EMOTIONS, IMAGE_SIZE
from facemotion.training import augment
from facemotion.training.distill import TeacherLike, as_predictor
from facemotion.training.teacher_cache import cache_key, read_cached, write_cached

__all__ = ["TeacherViews", "draw_views", "render_views", "score_views", "load_or_score_views", "VIEWS_FILE"]

logger = logging.getLogger(__name__)

VIEWS_FILE = "teacher_views.npz"
"""The cached bank, in the run folder (ignored by git: rebuilt exactly from the run's settings when missing)."""


@dataclass(frozen=True)
class TeacherViews:
    """``V`` fixed views of each of ``N`` training images and the teacher's probabilities for each."""

    matrices: torch.Tensor
    """``(N, V, 2, 3)`` sampling matrices for :func:`~facemotion.training.augment.warp`."""
    flips: torch.Tensor
    """``(N, V)`` bool: the view is mirrored after the warp."""
    probabilities: torch.Tensor
    """``(N, V, K)`` the teacher's probabilities for each view."""

    @property
    def count(self) -> int:
        return int(self.flips.shape[1])

    def to(self, device: torch.device) -> TeacherViews:
        return TeacherViews(self.matrices.to(device), self.flips.to(device), self.probabilities.to(device))

    def apply(self, x: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The float batch ``x`` of training images ``idx``, each through one of its views drawn from ``gen``, and
        the teacher's ``(B, K)`` probabilities for the views drawn."""
        view = torch.randint(self.count, (len(idx),), generator=gen, device=x.device)
        return render_views(x, self.matrices[idx, view], self.flips[idx, view]), self.probabilities[idx, view]


def draw_views(n: int, views: int, *, rotate: float, scale: float, shift: float, flip: bool, seed: int,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, V, 2, 3)`` matrices and ``(N, V)`` flips, drawn on the CPU from ``seed`` alone: the same on any machine,
    so a lost cache is rebuilt exactly."""
    gen = torch.Generator().manual_seed(seed)
    cpu = torch.device("cpu")
    matrices = augment.random_affine_matrices(n * views, gen, cpu, rotate=rotate, scale=scale, shift=shift)
    flips = torch.rand(n * views, generator=gen) < 0.5 if flip else torch.zeros(n * views, dtype=torch.bool)
    return matrices.reshape(n, views, 2, 3), flips.reshape(n, views)


def render_views(x: torch.Tensor, matrices: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Float ``(B, 1, H, W)`` images through their ``(B, 2, 3)`` matrices, then mirrored where ``flips``."""
    return augment.hflip_where(augment.warp(x, matrices), flips)


def score_views(teacher: TeacherLike, images: np.ndarray, matrices: torch.Tensor, flips: torch.Tensor, *,
                labels: Sequence[str] = EMOTIONS, batch_size: int = 1024) -> np.ndarray:
    """``(N, V, K)`` float32 probabilities of ``teacher`` for every view of the ``(N, 48, 48)`` uint8 ``images``,
    each view rendered and rounded to uint8 as a photo's crop would be; columns in the order of ``labels``."""
    n, views = flips.shape
    predict = as_predictor(teacher, labels)
    crops = torch.from_numpy(np.asarray(images).reshape(n, 1, IMAGE_SIZE, IMAGE_SIZE))
    flat_m, flat_f = matrices.reshape(n * views, 2, 3), flips.reshape(n * views)
    parts = []
    for start in range(0, n * views, batch_size):
        rows = torch.arange(start, min(start + batch_size, n * views))
        rendered = render_views(crops[rows // views].float(), flat_m[rows], flat_f[rows])
        parts.append(predict(rendered.round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()))
        if (start // batch_size) % 20 == 19:
            logger.info("teacher views: %d of %d scored", rows[-1].item() + 1, n * views)
    return np.concatenate(parts).astype(np.float32).reshape(n, views, -1)


_FORMAT = 1
"""Bumped whenever drawing, rendering or scoring the views changes, so older banks are rebuilt."""


def load_or_score_views(teacher: TeacherLike, teacher_sha: str, images: np.ndarray, views: int, *, rotate: float,
                        scale: float, shift: float, flip: bool, seed: int, cache: Path | None,
                        write: bool = True, labels: Sequence[str] = EMOTIONS) -> TeacherViews:
    """The bank for these images, views and settings: read from ``cache`` when it was built from the same teacher
    file, images and settings, else drawn, scored and (when ``cache`` is given and ``write``) written there
    atomically. Under DDP every rank reads the cache and only the main one writes it."""
    settings: dict[str, Any] = {"rotate": rotate, "scale": scale, "shift": shift, "flip": flip, "seed": seed}
    if tuple(labels) != EMOTIONS:  # the bank's column order (FER2013's banks keep their key)
        settings["labels"] = list(labels)
    key = cache_key(teacher_sha, images, format=_FORMAT, views=views, **settings)
    n, k = len(images), len(labels)
    stored = read_cached(cache, key, {"matrices": ((n, views, 2, 3), np.float32), "flips": ((n, views), np.bool_),
                                      "probabilities": ((n, views, k), np.float32)})
    if stored is not None:
        return TeacherViews(*(torch.from_numpy(stored[name]) for name in ("matrices", "flips", "probabilities")))
    matrices, flips = draw_views(len(images), views, seed=seed, rotate=rotate, scale=scale, shift=shift, flip=flip)
    logger.info("scoring %d views of %d training images with the teacher", views, len(images))
    probabilities = score_views(teacher, images, matrices, flips, labels=labels)
    if cache is not None and write:
        write_cached(cache, key, matrices=matrices.numpy(), flips=flips.numpy(), probabilities=probabilities)
    return TeacherViews(matrices, flips, torch.from_numpy(probabilities))
