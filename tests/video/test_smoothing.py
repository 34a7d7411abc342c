from __future__ import annotations

import math

import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.video.smoothing import EmaSmoother

A = np.array([0.7, 0.0, 0.0, 0.1, 0.0, 0.0, 0.2])
B = np.array([0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.1])


def test_first_value_passes_through_then_values_blend() -> None:
    smoother = EmaSmoother(window=0.5)
    assert np.allclose(smoother.update(1, A, time=0.0), A)
    out = smoother.update(1, B, time=0.1)
    alpha = 1 - math.exp(-0.1 / 0.25)
    assert np.allclose(out, alpha * B + (1 - alpha) * A)
    assert out.sum() == pytest.approx(1.0)
    assert A[0] > out[0] > B[0]


def test_smoothing_is_in_time_not_frames() -> None:
    """Two steps of dt weigh the old average like one step of 2 dt: --every does not change the smoothing."""
    smoother = EmaSmoother(window=1.0)
    assert (1 - smoother.alpha(0.1)) ** 2 == pytest.approx(1 - smoother.alpha(0.2))
    fine, coarse = EmaSmoother(window=1.0), EmaSmoother(window=1.0)
    fine.update(1, A, 0.0)
    coarse.update(1, A, 0.0)
    for t in np.arange(1, 11) * 0.1:
        last_fine = fine.update(1, B, float(t))
    last_coarse = coarse.update(1, B, 1.0)
    assert np.allclose(last_fine, last_coarse)


def test_tracks_are_independent_and_ended_tracks_are_dropped() -> None:
    smoother = EmaSmoother(window=0.5)
    smoother.update(1, A, 0.0)
    assert np.allclose(smoother.update(2, B, 0.1), B)  # a new track does not inherit track 1's average
    smoother.retain([2])
    assert np.allclose(smoother.update(1, B, 0.2), B)  # track 1 was dropped: starts afresh


def test_time_standing_still_means_no_smoothing() -> None:
    smoother = EmaSmoother(window=0.5)
    smoother.update(1, A, 1.0)
    assert np.allclose(smoother.update(1, B, 1.0), B)


@pytest.mark.parametrize("window", [0.0, -1.0, float("nan")])
def test_bad_window(window: float) -> None:
    with pytest.raises(FacemotionError):
        EmaSmoother(window)
