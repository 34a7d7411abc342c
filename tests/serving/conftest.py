"""Fixtures for the service tests: an app around a tiny real ONNX classifier, and the test client."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facemotion.inference.recognizer import Recognizer
from facemotion.serving.app import create_app
from facemotion.serving.settings import ServeSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette would like httpx2; the test extra installs httpx
    from starlette.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``artifacts/`` at the repository root (git-ignored): screenshots and server logs the tests leave behind."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def settings_for(model: Path, **overrides: Any) -> ServeSettings:
    """Test settings: the given model, no detection (each image is one face), nothing read from the environment."""
    return ServeSettings(**{"model": str(model), "detector": "none", "workers": 2, "max_queue": 4, **overrides})


@pytest.fixture
def make_client(brightness_onnx: Path) -> Callable[..., Any]:
    """``with make_client(classifier=None, raise_errors=True, **settings) as client``: an app with lifespan run.

    ``classifier`` replaces the brightness ONNX model (a test double with ``predict_proba``).
    """

    @contextmanager
    def factory(classifier: object | None = None, raise_errors: bool = True, **overrides: Any) -> Iterator[TestClient]:
        settings = settings_for(brightness_onnx, **overrides)
        model = classifier if classifier is not None else str(brightness_onnx)
        recognizer = Recognizer(model, settings.detector, max_pixels=settings.max_pixels, threads=1)  # type: ignore[arg-type]
        with TestClient(create_app(recognizer, settings=settings), raise_server_exceptions=raise_errors) as client:
            yield client

    return factory


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Iterator[TestClient]:
    with make_client() as client:
        yield client


def png(image: np.ndarray) -> bytes:
    """A NumPy image (gray or BGR) as PNG bytes."""
    import cv2

    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()
