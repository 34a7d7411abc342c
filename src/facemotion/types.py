"""Typed results shared by the Python API, the CLI and the video and HTTP layers.

Frozen dataclasses of plain Python numbers (no NumPy inside, so a result pickles, compares and serialises the same
everywhere). Each ``to_dict()`` *is* the JSON schema documented in the README; keep it stable: add keys, never
rename or remove them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from facemotion.errors import FacemotionError
from facemotion.labels import EMOTIONS

__all__ = ["Box", "BoxLike", "Landmarks", "Detection", "FaceResult", "ImageResult"]


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels of the image it was found in: top-left ``(x, y)``, width, height."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "w", "h"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Box.{name} must be an int, got {type(value).__name__} {value!r}")
        if self.w < 0 or self.h < 0:
            raise ValueError(f"Box width and height must be >= 0, got w={self.w}, h={self.h}")

    @classmethod
    def of(cls, value: BoxLike) -> Box:
        """A Box from a Box, a ``(x, y, w, h)`` sequence or a ``{"x", "y", "w", "h"}`` mapping (floats are rounded).

        This is the one place that parses user-given boxes (``Recognizer.predict(boxes=...)``, ``--boxes FILE``).
        """
        if isinstance(value, Box):
            return value
        if isinstance(value, Mapping):
            try:
                values = [value[k] for k in ("x", "y", "w", "h")]
            except KeyError as exc:
                raise FacemotionError(f"a box mapping needs the keys x, y, w, h; got {sorted(value)}") from exc
        elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise FacemotionError(f"a box is (x, y, w, h) or {{'x', 'y', 'w', 'h'}}, got {value!r}")
        else:
            values = list(value)
        if len(values) != 4:
            raise FacemotionError(f"a box has 4 numbers (x, y, w, h), got {len(values)}: {values!r}")
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError) as exc:
            raise FacemotionError(f"a box has 4 numbers (x, y, w, h), got {values!r}") from exc
        if not all(math.isfinite(v) for v in numbers):
            raise FacemotionError(f"box values must be finite, got {values!r}")
        x, y, w, h = (round(v) for v in numbers)
        if w <= 0 or h <= 0:
            raise FacemotionError(f"a box needs a positive width and height, got w={w}, h={h}")
        return cls(x, y, w, h)

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2.0, self.y + self.h / 2.0

    def clip(self, width: int, height: int) -> Box:
        """This box cut to an image of ``width`` x ``height`` (zero-sized when it lies wholly outside)."""
        x0, y0 = min(max(self.x, 0), width), min(max(self.y, 0), height)
        x1, y1 = min(max(self.x + self.w, 0), width), min(max(self.y + self.h, 0), height)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def to_tuple(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


BoxLike = Box | Sequence[float] | Mapping[str, float]
"""What the API accepts as a user-given box."""

_Point = tuple[float, float]


def _point(value: Iterable[float]) -> _Point:
    x, y = (float(v) for v in value)
    return x, y


@dataclass(frozen=True)
class Landmarks:
    """The five facial points YuNet gives, in image pixels; "right"/"left" are the person's own sides."""

    right_eye: _Point
    left_eye: _Point
    nose: _Point
    mouth_right: _Point
    mouth_left: _Point

    NAMES: ClassVar[tuple[str, ...]] = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")

    @classmethod
    def from_points(cls, points: Iterable[Iterable[float]]) -> Landmarks:
        """From five ``(x, y)`` pairs in :attr:`NAMES` order (a ``(5, 2)`` array works)."""
        pairs = [_point(p) for p in points]
        if len(pairs) != len(cls.NAMES):
            raise ValueError(f"expected {len(cls.NAMES)} landmark points, got {len(pairs)}")
        return cls(*pairs)

    def points(self) -> list[_Point]:
        return [getattr(self, name) for name in self.NAMES]

    def to_dict(self) -> dict[str, list[float]]:
        return {name: [round(x, 1), round(y, 1)] for name, (x, y) in zip(self.NAMES, self.points())}


@dataclass(frozen=True)
class Detection:
    """What a face detector returns: a box, its score when the detector gives one, and landmarks when it has them."""

    box: Box
    score: float | None = None
    landmarks: Landmarks | None = None


def _probabilities(values: Mapping[str, float] | Sequence[float]) -> dict[str, float]:
    if isinstance(values, Mapping):
        if tuple(values) != EMOTIONS:
            raise ValueError(f"probabilities must have the keys {EMOTIONS} in that order, got {tuple(values)}")
        numbers = [float(values[e]) for e in EMOTIONS]
    else:
        numbers = [float(v) for v in values]
        if len(numbers) != len(EMOTIONS):
            raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {len(numbers)}")
    if not all(math.isfinite(p) for p in numbers):
        raise ValueError(f"probabilities must be finite, got {numbers}")
    return dict(zip(EMOTIONS, numbers))


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is, how sure the detector was, and the emotion probabilities in label order."""

    box: Box
    emotion: str
    confidence: float
    probabilities: dict[str, float] = field(hash=False)
    detection_score: float | None = None
    landmarks: Landmarks | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "probabilities", _probabilities(self.probabilities))
        if self.emotion not in EMOTIONS:
            raise ValueError(f"unknown emotion {self.emotion!r}; expected one of {EMOTIONS}")

    @classmethod
    def from_probabilities(cls, detection: Detection, probabilities: Sequence[float], *,
                           box: Box | None = None) -> FaceResult:
        """The result for one detection; ``emotion``/``confidence`` are the most probable label and its probability.

        ``box`` overrides the detection's box (the Recognizer passes it clipped to the image).
        """
        probs = _probabilities(probabilities)
        emotion = max(probs, key=probs.__getitem__)
        return cls(box=box or detection.box, emotion=emotion, confidence=probs[emotion], probabilities=probs,
                   detection_score=detection.score, landmarks=detection.landmarks)

    def top_k(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable emotions with their probabilities, most probable first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:max(k, 0)]

    def to_dict(self, top_k: int = 1) -> dict[str, Any]:
        """The JSON form: ``box``, ``detection_score``, ``landmarks``, ``emotion``, ``confidence``, ``probabilities``,
        and with ``top_k > 1`` also ``top_k``: the ``top_k`` most probable ``{"emotion", "probability"}``, best first
        (one definition for the CLI's JSON lines and the HTTP service).
        """
        record = {
            "box": self.box.to_dict(),
            "detection_score": None if self.detection_score is None else round(float(self.detection_score), 4),
            "landmarks": None if self.landmarks is None else self.landmarks.to_dict(),
            "emotion": self.emotion,
            "confidence": round(self.confidence, 6),
            "probabilities": {e: round(p, 6) for e, p in self.probabilities.items()},
        }
        if top_k > 1:
            record["top_k"] = [{"emotion": e, "probability": round(p, 6)} for e, p in self.top_k(top_k)]
        return record


@dataclass(frozen=True)
class ImageResult:
    """The outcome for one image of a batch: its faces, or the error that stopped it (never both)."""

    path: str | None
    faces: tuple[FaceResult, ...] = ()
    width: int | None = None
    height: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", tuple(self.faces))

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``path``, ``width``, ``height``, ``faces`` (list of face dicts) and ``error`` (null if ok)."""
        return {"path": self.path, "width": self.width, "height": self.height,
                "faces": [face.to_dict() for face in self.faces], "error": self.error}
