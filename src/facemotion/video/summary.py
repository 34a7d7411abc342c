"""What a video amounted to: frames and faces seen, and for each track its time span and dominant emotion.

It also keeps each track's smoothed probabilities over time (a few megabytes for an hour of video), which the
timeline plot draws; nothing here needs a display or matplotlib.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facemotion.labels import EMOTIONS
from facemotion.video.results import FrameResult

__all__ = ["TrackSummary", "VideoSummary"]


@dataclass
class TrackSummary:
    """One track: when it was seen and its smoothed emotion probabilities at those times."""

    track_id: int
    times: list[float] = field(default_factory=list)
    probabilities: list[list[float]] = field(default_factory=list)
    labels: Counter = field(default_factory=Counter)
    label_names: tuple[str, ...] = EMOTIONS
    """The model's labels, in the order of each row of ``probabilities``."""

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def first_time(self) -> float:
        return self.times[0]

    @property
    def last_time(self) -> float:
        return self.times[-1]

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(T,)`` times and ``(T, K)`` probabilities, for plotting and analysis."""
        return (np.asarray(self.times, np.float64),
                np.asarray(self.probabilities, np.float64).reshape(-1, len(self.label_names)))

    def mean_probabilities(self) -> dict[str, float]:
        """Each emotion's probability averaged over the track's frames."""
        mean = self.as_arrays()[1].mean(axis=0)
        return dict(zip(self.label_names, mean.tolist()))

    def dominant(self) -> tuple[str, float]:
        """The emotion with the highest mean probability over the track, and that mean.

        Mean probability rather than the most frequent label: a face that is 45 % happy and 40 % neutral in every
        frame is mostly happy, and a mean weighs uncertain frames less than a vote does.
        """
        mean = self.mean_probabilities()
        emotion = max(mean, key=mean.__getitem__)
        return emotion, mean[emotion]

    def to_dict(self) -> dict[str, Any]:
        emotion, mean = self.dominant()
        return {"track_id": self.track_id, "frames": self.frames, "first_time": round(self.first_time, 3),
                "last_time": round(self.last_time, 3), "dominant_emotion": emotion,
                "dominant_probability": round(mean, 4),
                "mean_probabilities": {e: round(p, 4) for e, p in self.mean_probabilities().items()},
                "label_frames": {e: self.labels.get(e, 0) for e in self.label_names}}


class VideoSummary:
    """Accumulates :class:`FrameResult` objects into per-video and per-track figures.

    Args:
        source: the name of what was read, for the report.
        video_fps: the source's frame rate, when known.
    """

    def __init__(self, source: str = "", video_fps: float | None = None) -> None:
        self.source = source
        self.video_fps = video_fps
        self.frames = 0
        self.frames_with_faces = 0
        self.faces = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.tracks: dict[int, TrackSummary] = {}
        self.elapsed = 0.0
        """Wall-clock seconds spent processing (set by whoever runs the loop)."""
        self.interrupted = False
        """True when the run was stopped before the end of the source (Ctrl-C, q)."""

    def add(self, result: FrameResult) -> None:
        """Count one processed frame and its faces."""
        self.frames += 1
        self.faces += len(result.faces)
        self.frames_with_faces += bool(result.faces)
        if self.first_time is None:
            self.first_time = result.time
        self.last_time = result.time
        for tracked in result.faces:
            track = self.tracks.get(tracked.track_id)
            if track is None:
                track = self.tracks[tracked.track_id] = TrackSummary(
                    tracked.track_id, label_names=tuple(tracked.smoothed.probabilities))
            track.times.append(result.time)
            track.probabilities.append(list(tracked.smoothed.probabilities.values()))
            track.labels[tracked.smoothed.emotion] += 1

    @property
    def processing_fps(self) -> float:
        """Processed frames per wall-clock second (0 before anything ran)."""
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0

    def main_tracks(self, min_share: float = 0.1) -> list[TrackSummary]:
        """Tracks seen in at least ``min_share`` of the processed frames, longest first: the people, not the
        one-frame false detections."""
        threshold = min_share * self.frames
        tracks = [t for t in self.tracks.values() if t.frames >= threshold]
        return sorted(tracks, key=lambda t: (-t.frames, t.track_id))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the summary (``facemotion video --summary FILE``)."""
        return {"source": self.source, "video_fps": self.video_fps, "frames": self.frames,
                "frames_with_faces": self.frames_with_faces, "faces": self.faces, "tracks": len(self.tracks),
                "first_time": self.first_time, "last_time": self.last_time,
                "processing_seconds": round(self.elapsed, 3), "processing_fps": round(self.processing_fps, 2),
                "interrupted": self.interrupted,
                "per_track": [t.to_dict() for t in sorted(self.tracks.values(), key=lambda t: t.track_id)]}
