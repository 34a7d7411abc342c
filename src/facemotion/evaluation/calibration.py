"""Temperature scaling (Guo et al. 2017): one scalar, fitted on PublicTest, that makes confidences honest."""

from __future__ import annotations

import numpy as np

from facemotion.inference.backends import softmax

__all__ = ["softmax", "tta_probabilities", "nll", "fit_temperature"]


def tta_probabilities(views: list[np.ndarray], temperature: float) -> np.ndarray:
    """Mean of the per-view softmax at ``temperature``: exactly what the exported graph computes."""
    return np.mean([softmax(v / temperature) for v in views], axis=0)


def nll(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean())


def fit_temperature(views: list[np.ndarray], labels: np.ndarray, *, low: float = 0.05, high: float = 10.0) -> float:
    """The temperature minimising the negative log-likelihood of ``labels``; golden-section search on log T.

    ``views`` holds the logits of each TTA view (one array without TTA). NLL is unimodal in T here, so a
    bracketing search finds the optimum to 1e-4 without an optimiser dependency.
    """
    labels = np.asarray(labels)
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return nll(tta_probabilities(views, float(np.exp(log_t))), labels)

    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    while b - a > 1e-4:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    return float(np.exp((a + b) / 2))
