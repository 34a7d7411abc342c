"""Typed results shared by the Python API, the CLI and the video and HTTP layers.

Frozen dataclasses of plain Python numbers (no NumPy inside, so a result pickles, compares and serialises the same
everywhere). Each ``to_dict()`` *is* the JSON schema documented in docs/photos.md (Output schema); keep it stable:
add keys, never rename or remove them.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from facemotion.errors import FacemotionError
from facemotion.labels import EMOTIONS

__all__ = ["Box", "BoxLike", "Landmarks", "Detection", "Heatmap", "FaceResult", "ImageResult"]


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
            raise FacemotionError(f"a box has 4 numbers (x, y, w, h), got {reprlib.repr(values)}") from exc
        except OverflowError:  # an integer too large for a float
            raise FacemotionError(f"box values must be finite, got {reprlib.repr(values)}") from None
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


_Grid = tuple[tuple[float, ...], ...]
_Affine = tuple[tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Heatmap:
    """Where on one face the model found each label: class activation maps and where they lie in the photo.

    ``maps`` holds, per label, a small grid (rows top to bottom, e.g. 6x6) in logit units: cell values are how much
    that part of the face raised (positive) or lowered (negative) the label's logit; their mean is the logit.
    ``matrix`` is the 2x3 affine from the grid's continuous coordinates (corners at 0 and the grid's width and
    height) to the photo's (pixel ``i`` spans ``[i, i + 1)``): it carries the crop's position, scale and rotation.
    """

    matrix: _Affine
    maps: dict[str, _Grid] = field(hash=False)

    def __post_init__(self) -> None:
        matrix = tuple(tuple(float(v) for v in row) for row in self.matrix)
        if len(matrix) != 2 or any(len(row) != 3 for row in matrix):
            raise ValueError(f"a heatmap matrix is 2x3, got {matrix!r}")
        maps = {str(k): tuple(tuple(float(v) for v in row) for row in grid) for k, grid in self.maps.items()}
        shapes = {(len(g), len(g[0]) if g else 0) for g in maps.values()}
        if len(shapes) > 1 or any(0 in shape for shape in shapes):
            raise ValueError(f"heatmap grids must be non-empty and all the same shape, got {sorted(shapes)}")
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "maps", maps)

    @property
    def size(self) -> tuple[int, int]:
        """The grid's ``(height, width)``."""
        grid = next(iter(self.maps.values()), ())
        return len(grid), len(grid[0]) if grid else 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``size`` ``[h, w]``, ``matrix`` (2x3, grid -> photo) and ``maps`` ``{label: h x w}``."""
        return {"size": list(self.size), "matrix": [[round(v, 4) for v in row] for row in self.matrix],
                "maps": {label: [[round(v, 3) for v in row] for row in grid] for label, grid in self.maps.items()}}


def _probabilities(values: Mapping[str, float] | Sequence[float],
                   labels: Sequence[str] | None = None) -> dict[str, float]:
    """``{label: p}`` in label order: a mapping keeps its own keys (checked against ``labels`` when given), a
    sequence is named by ``labels`` (FER2013's seven when None)."""
    if isinstance(values, Mapping):
        names = tuple(values)
        if labels is not None and names != tuple(labels):
            raise ValueError(f"probabilities must have the keys {tuple(labels)} in that order, got {names}")
        if len(names) < 2:
            raise ValueError(f"probabilities need at least two labels, got {names}")
        numbers = [float(values[e]) for e in names]
    else:
        names = tuple(EMOTIONS if labels is None else labels)
        numbers = [float(v) for v in values]
        if len(numbers) != len(names):
            raise ValueError(f"expected {len(names)} probabilities (one per label of {names}), got {len(numbers)}")
    if not all(math.isfinite(p) for p in numbers):
        raise ValueError(f"probabilities must be finite, got {numbers}")
    return dict(zip(names, numbers))


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is, how sure the detector was, and the probabilities of the model's labels in its order.

    ``emotion`` is a label name of the model that scored the face: FER2013's seven for the packaged models, any
    names for a model trained on your own data (they travel in the model, see :mod:`facemotion.labels`).
    """

    box: Box
    emotion: str
    confidence: float
    probabilities: dict[str, float] = field(hash=False)
    detection_score: float | None = None
    landmarks: Landmarks | None = None
    heatmap: Heatmap | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "probabilities", _probabilities(self.probabilities))
        if self.emotion not in self.probabilities:
            raise ValueError(f"unknown emotion {self.emotion!r}; expected one of {tuple(self.probabilities)}")

    @classmethod
    def from_probabilities(cls, detection: Detection, probabilities: Sequence[float], *,
                           box: Box | None = None, heatmap: Heatmap | None = None,
                           labels: Sequence[str] | None = None) -> FaceResult:
        """The result for one detection; ``emotion``/``confidence`` are the most probable label and its probability.

        ``box`` overrides the detection's box (the Recognizer passes it clipped to the image); ``labels`` names the
        probabilities (the model's label names; FER2013's seven when None).
        """
        probs = _probabilities(probabilities, labels)
        emotion = max(probs, key=probs.__getitem__)
        return cls(box=box or detection.box, emotion=emotion, confidence=probs[emotion], probabilities=probs,
                   detection_score=detection.score, landmarks=detection.landmarks, heatmap=heatmap)

    def top_k(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable emotions with their probabilities, most probable first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:max(k, 0)]

    def to_dict(self, top_k: int = 1) -> dict[str, Any]:
        """The JSON form: ``box``, ``detection_score``, ``landmarks``, ``emotion``, ``confidence``, ``probabilities``,
        and with ``top_k > 1`` also ``top_k``: the ``top_k`` most probable ``{"emotion", "probability"}``, best first
        (one definition for the CLI's JSON lines and the HTTP service); ``heatmap`` (:meth:`Heatmap.to_dict`) only
        when the face was explained.
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
        if self.heatmap is not None:
            record["heatmap"] = self.heatmap.to_dict()
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

    def to_dict(self, top_k: int = 1) -> dict[str, Any]:
        """The JSON form: ``path``, ``width``, ``height``, ``faces`` (list of face dicts, each
        :meth:`FaceResult.to_dict` with this ``top_k``) and ``error`` (null if ok)."""
        return {"path": self.path, "width": self.width, "height": self.height,
                "faces": [face.to_dict(top_k=top_k) for face in self.faces], "error": self.error}
