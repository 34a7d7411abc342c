"""Typed per-frame results of the video layer: each face of a frame with its track id, smoothed and raw.

They wrap :class:`~facemotion.types.FaceResult` rather than extend it, so the photo schema stays as documented;
``to_dict()`` adds ``track_id`` and ``raw`` to a face's usual keys.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from facemotion.types import FaceResult

__all__ = ["TrackedFace", "FrameResult"]


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame.

    Attributes:
        track_id: the same number for the same person from frame to frame (1, 2, ...).
        smoothed: the face with its *smoothed* probabilities, emotion and confidence (the raw ones when smoothing is
            off): what to show.
        raw: the classifier's own answer for this frame alone.
    """

    track_id: int
    smoothed: FaceResult
    raw: FaceResult

    @property
    def face(self) -> FaceResult:
        """Deprecated alias of :attr:`smoothed` (its name in 0.1; to be removed in the next release)."""
        warnings.warn("TrackedFace.face is deprecated: use TrackedFace.smoothed", DeprecationWarning, stacklevel=2)
        return self.smoothed

    def to_dict(self) -> dict[str, Any]:
        """The face's JSON form plus ``track_id`` and ``raw`` (``emotion``, ``confidence``, ``probabilities``)."""
        raw = self.raw.to_dict()
        return {"track_id": self.track_id, **self.smoothed.to_dict(),
                "raw": {k: raw[k] for k in ("emotion", "confidence", "probabilities")}}


@dataclass(frozen=True)
class FrameResult:
    """The faces of one processed frame, ordered by track id.

    Attributes:
        index: the frame's index in the source (0 = its first frame, whatever ``start`` was).
        time: seconds from the start of the source (for cameras and streams, from when they were opened).
        faces: one :class:`TrackedFace` per face found; empty when there is none.
        width, height: the frame's size in pixels.
    """

    index: int
    time: float
    faces: tuple[TrackedFace, ...]
    width: int
    height: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", tuple(self.faces))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``frame``, ``time``, ``width``, ``height``, ``faces``."""
        return {"frame": self.index, "time": round(self.time, 4), "width": self.width, "height": self.height,
                "faces": [face.to_dict() for face in self.faces]}
