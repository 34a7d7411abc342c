"""The service's limits and choices in one validated dataclass, with ``FACEMOTION_*`` environment overrides.

Precedence is explicit argument (the CLI's options) > environment variable > default, so a container can be
configured by environment alone and a command line still wins. Every limit exists so that one client cannot take
the service down: upload bytes and decoded pixels bound memory, workers and the queue bound CPU and latency, the
timeout bounds how long a slot can be held.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from facemotion.checks import is_whole
from facemotion.cpus import usable_cpus
from facemotion.errors import FacemotionError
from facemotion.tiers import PACKAGED_MODELS

__all__ = ["ServeSettings", "ENV_VARS", "default_workers"]

ENV_VARS: dict[str, str] = {
    "max_upload_bytes": "FACEMOTION_MAX_UPLOAD_BYTES",
    "max_pixels": "FACEMOTION_MAX_PIXELS",
    "timeout_s": "FACEMOTION_TIMEOUT",
    "header_timeout_s": "FACEMOTION_HEADER_TIMEOUT",
    "workers": "FACEMOTION_WORKERS",
    "max_queue": "FACEMOTION_MAX_QUEUE",
    "retry_after_s": "FACEMOTION_RETRY_AFTER",
    "api_key": "FACEMOTION_API_KEY",
    "cors_origins": "FACEMOTION_CORS_ORIGINS",
    "model": "FACEMOTION_MODEL",
    "detector": "FACEMOTION_DETECTOR",
    "max_faces": "FACEMOTION_MAX_FACES",
    "threads": "FACEMOTION_THREADS",
}
"""Setting name -> environment variable. The YuNet file keeps its existing ``FACEMOTION_YUNET_MODEL``, read by the
detector itself, so one variable means one thing everywhere."""


def default_workers() -> int:
    """One inference thread per core, at most 4: each runs ONNX Runtime on one thread, so more than the cores only
    adds contention, and beyond 4 a small service is better scaled by processes."""
    return max(1, min(usable_cpus(), 4))


@dataclass(frozen=True)
class ServeSettings:
    """Limits and defaults of one running service.

    Attributes:
        max_upload_bytes: largest request body accepted (413 beyond); 20 MB holds any phone photo.
        max_pixels: largest decoded image (width x height) accepted, checked from the header before decoding;
            50 MP admits every phone camera's full resolution and refuses decompression bombs.
        timeout_s: the most one request may take, from admission to answer, upload included (408 while the body
            is still arriving, 504 during inference). The upload is read before a worker slot is taken, so a slow
            client holds no slot, only its connection, until this timeout.
        header_timeout_s: the most a connection may take to send a request's headers (408 and closed after it),
            from its opening or from the previous answer; enforced by the uvicorn protocol of
            :mod:`facemotion.serving.protocol`.
        workers: inference threads, i.e. images processed at once.
        max_queue: admitted requests that may wait for a worker; beyond ``workers + max_queue`` requests in
            flight the service answers 503 with ``Retry-After`` at once instead of queueing without bound.
        retry_after_s: the ``Retry-After`` seconds sent with a 503.
        api_key: when set, ``/v1/*`` requires it (``X-API-Key`` or ``Authorization: Bearer``).
        cors_origins: browser origins allowed to call the API from other sites (``*`` for any); empty: none.
        model: the classifier loaded at start-up: ``default``, ``fast`` or a path to an ``.onnx`` file.
        detector: the face detector loaded at start-up: ``auto``, ``yunet``, ``haar`` or ``none``.
        detector_model: the YuNet ``.onnx`` (else ``$FACEMOTION_YUNET_MODEL``, else the cache).
        max_faces: keep at most this many faces per image (bounds the work one image can cause); None: all.
        threads: ONNX Runtime threads per inference, at most the CPU count (more is capped: a hundred thousand
            threads crash the process); parallelism comes from ``workers``.
    """

    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
    timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    workers: int = field(default_factory=default_workers)
    max_queue: int = 16
    retry_after_s: int = 1
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    model: str = "default"
    detector: str = "auto"
    detector_model: str | None = None
    max_faces: int | None = 100
    threads: int = 1

    def __post_init__(self) -> None:
        positive = {"max_upload_bytes": self.max_upload_bytes, "max_pixels": self.max_pixels,
                    "workers": self.workers, "retry_after_s": self.retry_after_s, "threads": self.threads}
        for name, value in positive.items():
            if not is_whole(value):
                raise FacemotionError(f"{name} must be an integer >= 1, got {value!r}")
        if not is_whole(self.max_queue, 0):
            raise FacemotionError(f"max_queue must be an integer >= 0, got {self.max_queue!r}")
        if self.max_faces is not None and not is_whole(self.max_faces):
            raise FacemotionError(f"max_faces must be an integer >= 1 or None, got {self.max_faces!r}")
        for name in ("timeout_s", "header_timeout_s"):
            if not getattr(self, name) > 0:
                raise FacemotionError(f"{name} must be > 0 seconds, got {getattr(self, name)!r}")
        if self.api_key is not None:
            _check_api_key(self.api_key)
        object.__setattr__(self, "cors_origins", tuple(o.strip() for o in self.cors_origins if o.strip()))
        object.__setattr__(self, "threads", min(self.threads, usable_cpus()))
        if not self.model:
            raise FacemotionError(f"model must be {', '.join(PACKAGED_MODELS)} or a path to an .onnx file, got ''")

    @property
    def capacity(self) -> int:
        """Requests admitted at once (running + waiting); the next one gets 503."""
        return self.workers + self.max_queue

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServeSettings:
        """Defaults, then ``FACEMOTION_*`` variables, then ``overrides`` whose value is not None.

        Raises:
            FacemotionError: a variable or override is malformed; the message names it and the value.
        """
        environ = os.environ if environ is None else environ
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(overrides) - set(fields)
        if unknown:
            raise FacemotionError(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(fields)}")
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            raw = environ.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = _parse(name, raw.strip(), var)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "cors_origins" in values and isinstance(values["cors_origins"], str):
            values["cors_origins"] = _split(values["cors_origins"])
        if "cors_origins" in values:
            values["cors_origins"] = tuple(values["cors_origins"])
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """The settings without the API key, for logs and ``/readyz``."""
        out = dataclasses.asdict(self)
        out["api_key"] = "set" if self.api_key else None
        out["cors_origins"] = list(self.cors_origins)
        return out


def _check_api_key(key: str) -> None:
    """Refuse a key no client could send: HTTP header values hold no control characters and lose their outer
    spaces. Any other text works; it is compared as UTF-8 bytes."""
    if not key.strip():
        raise FacemotionError("api_key must not be empty or blank (leave it unset for no key)")
    if key != key.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise FacemotionError("api_key must not contain control characters (tab, newline...) or begin or end with "
                              "a space: an HTTP header cannot carry them, so no client could send it")


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_INTS = {"max_upload_bytes", "max_pixels", "workers", "max_queue", "retry_after_s", "max_faces", "threads"}


def _parse(name: str, raw: str, var: str) -> Any:
    if name in _INTS:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise FacemotionError(f"${var} must be an integer, got {raw!r}") from None
    if name in ("timeout_s", "header_timeout_s"):
        try:
            return float(raw)
        except ValueError:
            raise FacemotionError(f"${var} must be a number of seconds, got {raw!r}") from None
    if name == "cors_origins":
        return _split(raw)
    return raw
