"""The live bar of ``facemotion train``: a tqdm display behind training's :class:`TrainProgress` callbacks.

Training reports and draws nothing itself (as the video and batch layers take a ``progress`` callback); the command
line chooses to show a bar, here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facemotion.training.loop import EpochMetrics, TrainProgress

__all__ = ["TqdmTrainProgress", "train_progress"]


class TqdmTrainProgress:
    """One tqdm bar per epoch, in images, with the running loss and accuracy, and PublicTest accuracy at its end."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start_epoch(self, epoch: int, epochs: int, images: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=images, desc=f"epoch {epoch}/{epochs}", unit="img", leave=False, file=sys.stderr,
                         mininterval=1.0, dynamic_ncols=True)

    def step(self, new_images: int, loss: float, accuracy: float) -> None:
        self._bar.update(new_images)
        self._bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)

    def end_epoch(self, train: EpochMetrics, val: EpochMetrics) -> None:
        self._bar.set_postfix(loss=f"{train.loss:.3f}", acc=f"{train.accuracy:.3f}", val_acc=f"{val.accuracy:.3f}")
        self._bar.close()
        self._bar = None


def train_progress(enabled: bool) -> TrainProgress | None:
    """``--progress/--no-progress`` as what :func:`~facemotion.training.fit` takes."""
    return TqdmTrainProgress() if enabled else None
