"""The upload budget counts what is really held: one copy of a raw body; a multipart body and its image part while
the part is copied out, then the part alone; and, after a 504, the upload until the worker that holds it is done."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from tests.serving.conftest import png
from tests.serving.test_app import assert_error

NOISY = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)  # a PNG of some kilobytes


class HeldDuringInference:
    """Records the budget's holding while the worker runs, then answers; ``release`` lets it finish."""

    def __init__(self, wait: float = 10.0) -> None:
        self.budget: Any = None
        self.seen: list[int] = []
        self.release = threading.Event()
        self.wait = wait

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        self.seen.append(self.budget.held)
        self.release.wait(self.wait)
        return np.full((len(crops), 7), 1 / 7, np.float32)


def _watch_peak(budget: Any) -> list[int]:
    peak = [0]
    real = budget.take

    def take(size: int) -> None:
        real(size)
        peak[0] = max(peak[0], budget.held)

    budget.take = take
    return peak


def test_a_raw_body_is_counted_once(make_client: Any) -> None:
    image = png(NOISY)
    classifier = HeldDuringInference()
    classifier.release.set()
    with make_client(classifier=classifier) as client:
        classifier.budget = client.app.state.uploads
        peak = _watch_peak(classifier.budget)
        assert client.post("/v1/predict", content=image).status_code == 200
        assert classifier.seen == [len(image)] and peak[0] == len(image)
        assert classifier.budget.held == 0


def test_a_multipart_body_counts_body_and_part_then_the_part_alone(make_client: Any) -> None:
    image = png(NOISY)
    assert len(image) > 2_000
    classifier = HeldDuringInference()
    classifier.release.set()
    with make_client(classifier=classifier) as client:
        classifier.budget = client.app.state.uploads
        peak = _watch_peak(classifier.budget)
        response = client.post("/v1/predict", files={"image": ("a.png", image, "image/png")})
        assert response.status_code == 200, response.text
        # body (image + multipart framing) and the image copied out of it, both held at once ...
        assert peak[0] > 2 * len(image)
        # ... then the body dropped: the worker holds the image bytes only
        assert classifier.seen == [len(image)]
        assert classifier.budget.held == 0


def test_after_a_504_the_budget_is_held_until_the_worker_finishes(make_client: Any) -> None:
    image = png(NOISY)
    classifier = HeldDuringInference()
    with make_client(classifier=classifier, timeout_s=0.5) as client:
        budget = classifier.budget = client.app.state.uploads
        assert_error(client.post("/v1/predict", content=image), 504, "longer than 0.5 s")
        assert classifier.seen == [len(image)]
        assert budget.held == len(image)  # the pool thread still holds the upload
        classifier.release.set()
        deadline = time.monotonic() + 10
        while budget.held and time.monotonic() < deadline:
            time.sleep(0.01)
        assert budget.held == 0
