"""The Recognizers a service uses: the one loaded at start-up, and others built on request, each part loaded once.

A request may ask for another packaged model (``default``/``fast``/``accurate``: ``inference.weights.PACKAGED_MODELS``)
or detector (``auto``/``yunet``/``haar``/``none``: ``faces.detect.DETECTORS``). Classifiers and detectors are cached
separately and combined, so asking for ``fast`` with three detectors loads the ``fast`` model once, and the
start-up model and detector are reused under their names.
Loading happens on the worker threads (it is slow), under a lock so that two requests never load the same thing.
A choice that cannot load here raises :class:`ChoiceUnavailable`, whose message names the request's option only:
why it failed (a server path, as a rule) is for the server log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from facemotion.errors import ModelError
from facemotion.inference.weights import PACKAGED_MODELS
from facemotion.serving.settings import ServeSettings

if TYPE_CHECKING:
    from facemotion.faces import FaceDetector
    from facemotion.inference.backends import Classifier
    from facemotion.inference.recognizer import Recognizer

__all__ = ["Recognizers", "ChoiceUnavailable", "build_recognizer", "model_label"]

logger = logging.getLogger(__name__)

def model_label(model: str) -> str:
    """How a model is named to clients: a packaged name as is, a file by its name only (no server paths)."""
    return model if model in PACKAGED_MODELS else Path(model).name


class ChoiceUnavailable(ModelError):
    """A request's ``model`` or ``detector`` cannot be loaded on this server; ``reason`` is the private why."""

    def __init__(self, option: str, value: str, reason: str) -> None:
        hint = (" (its operator should check --detector-model and FACEMOTION_YUNET_MODEL, or run `facemotion "
                "download-models`)" if option == "detector" and value in ("yunet", "auto") else "")
        super().__init__(f"{option}={value} is not available on this server{hint}; the server log says why")
        self.option, self.value, self.reason = option, value, reason


def build_recognizer(settings: ServeSettings, *, model: str | Classifier | None = None,
                     detector: str | FaceDetector | None = None) -> Recognizer:
    """A Recognizer with the service's limits; model and detector default to the settings' choices.

    Raises:
        ModelError: the model or detector file is missing or unusable.
    """
    from facemotion.inference.recognizer import Recognizer

    return Recognizer(settings.model if model is None else model,
                      settings.detector if detector is None else detector,
                      detector_model=settings.detector_model, max_faces=settings.max_faces,
                      max_pixels=settings.max_pixels, threads=settings.threads)


class Recognizers:
    """The start-up Recognizer plus lazily built ones for other ``(model, detector)`` choices."""

    def __init__(self, settings: ServeSettings, default: Recognizer | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._default: Recognizer | None = None
        self._classifiers: dict[str, Classifier] = {}
        self._detectors: dict[str, FaceDetector] = {}
        self._combined: dict[tuple[str, str], Recognizer] = {}
        self.error: str | None = None
        if default is not None:
            self._adopt(default)

    @property
    def ready(self) -> bool:
        """True once the start-up model and detector are loaded."""
        return self._default is not None

    def _adopt(self, recognizer: Recognizer) -> None:
        self._default = recognizer
        self._classifiers[self.settings.model] = recognizer.classifier
        self._detectors[self.settings.detector] = recognizer.detector

    def public_reason(self, exc: BaseException) -> str:
        """Why loading failed, for clients (``/readyz``): the message with file names in place of server paths."""
        from facemotion.serving.errors import redact_paths

        return redact_paths(str(exc), (self.settings.model, self.settings.detector_model))

    def load_default(self) -> Recognizer:
        """Load the start-up Recognizer (once); a failure is kept in :attr:`error` for ``/readyz`` and re-raised."""
        default = self._default
        if default is not None:  # the common case needs no lock: a slow lazy load elsewhere must not block it
            return default
        with self._lock:
            default = self._default
            if default is None:
                try:
                    default = build_recognizer(self.settings)
                except Exception as exc:
                    self.error = self.public_reason(exc)
                    raise
                self._adopt(default)
                self.error = None
                logger.info("loaded %r", default)
            return default

    def get(self, model: str | None = None, detector: str | None = None) -> Recognizer:
        """The Recognizer for a request's choices; None means the start-up choice. Loads what is missing."""
        default = self.load_default()
        if model in (None, self.settings.model) and detector in (None, self.settings.detector):
            return default
        model = model or self.settings.model
        detector = detector or self.settings.detector
        combined = self._combined.get((model, detector))
        if combined is not None:
            return combined
        with self._lock:
            combined = self._combined.get((model, detector))
            if combined is None:
                from facemotion.faces import create_detector
                from facemotion.inference.backends import load_classifier

                if model not in self._classifiers:
                    try:
                        self._classifiers[model] = load_classifier(model, threads=self.settings.threads)
                    except ModelError as exc:
                        raise ChoiceUnavailable("model", model, str(exc)) from exc
                    logger.info("loaded model %s", model)
                if detector not in self._detectors:
                    try:
                        self._detectors[detector] = create_detector(
                            detector, model_path=self.settings.detector_model, max_faces=self.settings.max_faces)
                    except ModelError as exc:
                        raise ChoiceUnavailable("detector", detector, str(exc)) from exc
                    logger.info("loaded detector %s (%s)", detector, self._detectors[detector].name)
                combined = build_recognizer(self.settings, model=self._classifiers[model],
                                            detector=self._detectors[detector])
                self._combined[(model, detector)] = combined
            return combined
