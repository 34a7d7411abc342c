"""Smooth each track's emotion probabilities over time, so labels follow the expression instead of flickering.

An exponential moving average in time, not in frames: ``alpha = 1 - exp(-dt / tau)`` with ``tau = window / 2``. For
evenly spaced frames this is pandas' ``ewm(span=window / dt)``, and it keeps its meaning when frames are skipped
(``--every``), dropped by a camera, or spaced unevenly (variable-frame-rate phone recordings).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from facemotion.defaults import DEFAULT_SMOOTH_WINDOW
from facemotion.errors import FacemotionError

__all__ = ["DEFAULT_SMOOTH_WINDOW", "EmaSmoother"]



class EmaSmoother:
    """Per-track exponential moving average of probability vectors.

    Example::

        smoother = EmaSmoother(window=0.5)
        smoother.update(1, probabilities, time=0.00)   # the first value is returned as is
        smoother.update(1, probabilities, time=0.04)   # later ones are blended with the running average

    A convex blend of probability vectors is a probability vector, so the result still sums to 1.
    """

    def __init__(self, window: float = DEFAULT_SMOOTH_WINDOW) -> None:
        if not (math.isfinite(window) and window > 0):
            raise FacemotionError(f"the smoothing window must be > 0 seconds, got {window}")
        self.window = window
        self._tau = window / 2.0
        self._state: dict[int, tuple[float, np.ndarray]] = {}

    def reset(self) -> None:
        """Forget every track's average."""
        self._state.clear()

    def retain(self, track_ids: Iterable[int]) -> None:
        """Drop the averages of tracks that have ended, so a long video does not accumulate state."""
        keep = set(track_ids)
        self._state = {tid: v for tid, v in self._state.items() if tid in keep}

    def alpha(self, dt: float) -> float:
        """The weight of a new value ``dt`` seconds after the last one; 1 (no smoothing) when time did not advance."""
        if dt <= 0:
            return 1.0
        return 1.0 - math.exp(-dt / self._tau)

    def update(self, track_id: int, probabilities: np.ndarray, time: float) -> np.ndarray:
        """The smoothed probabilities of ``track_id`` after adding this frame's ``probabilities`` at ``time``."""
        values = np.asarray(probabilities, dtype=np.float64)
        previous = self._state.get(track_id)
        if previous is None:
            smoothed = values
        else:
            last_time, average = previous
            a = self.alpha(time - last_time)
            smoothed = a * values + (1.0 - a) * average
        self._state[track_id] = (time, smoothed)
        return smoothed.copy()
