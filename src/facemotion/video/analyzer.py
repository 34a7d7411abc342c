"""The streaming API: frames in, per-frame typed results with track ids and smoothed probabilities out.

A thin layer over :class:`~facemotion.inference.recognizer.Recognizer` (detect -> align -> classify) that adds what
only a sequence of frames has: identity over time (:mod:`~facemotion.video.tracking`) and temporal smoothing
(:mod:`~facemotion.video.smoothing`). It reads no files and opens no windows, so any capture can feed it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from facemotion.defaults import DEFAULT_RESCAN
from facemotion.errors import FacemotionError
from facemotion.inference.explain import Explain, explain_labels
from facemotion.inference.images import ChannelOrder
from facemotion.types import Detection, FaceResult, Heatmap
from facemotion.video.regions import RegionDetector
from facemotion.video.results import FrameResult, TrackedFace
from facemotion.video.smoothing import DEFAULT_SMOOTH_WINDOW, EmaSmoother
from facemotion.video.sources import Frame, SourceLike, VideoSource
from facemotion.video.tracking import DEFAULT_IOU_THRESHOLD, DEFAULT_TRACK_TIMEOUT, IouTracker

if TYPE_CHECKING:
    from facemotion.inference.recognizer import Recognizer

__all__ = ["DEFAULT_RESCAN", "VideoAnalyzer"]

logger = logging.getLogger(__name__)



class VideoAnalyzer:
    """Follows every face through a sequence of frames and tells its emotion, smoothed over time.

    Example::

        from facemotion import Recognizer
        from facemotion.video import VideoAnalyzer

        analyzer = VideoAnalyzer(Recognizer(detector="yunet"))
        for result in analyzer.stream(my_frames, fps=25):          # any iterable of BGR arrays
            for tracked in result.faces:
                print(result.time, tracked.track_id, tracked.smoothed.emotion)

        for result in analyzer.analyze("session.mp4", every=5):    # or a file, camera index or URL
            ...

    Args:
        recognizer: the Recognizer that detects and classifies (default: ``Recognizer()``).
        smooth_window: seconds of the exponential moving average over each track; None turns smoothing off.
        iou_threshold: the least box overlap for a face to keep its track id from one processed frame to the next.
        track_timeout: seconds a track waits for a lost face before it ends.
        rescan: seconds between whole-frame face detections while faces are tracked; in between the detector runs
            only around the tracked faces (several times faster). A frame where those regions hold no face is
            always scanned whole. 0 scans every frame whole.
        explain: give each face a heatmap, as in :meth:`Recognizer.predict` (``True``: its top label).
    """

    def __init__(self, recognizer: Recognizer | None = None, *, smooth_window: float | None = DEFAULT_SMOOTH_WINDOW,
                 iou_threshold: float = DEFAULT_IOU_THRESHOLD, track_timeout: float = DEFAULT_TRACK_TIMEOUT,
                 rescan: float = DEFAULT_RESCAN, explain: Explain = False) -> None:
        if recognizer is None:
            from facemotion.inference.recognizer import Recognizer

            recognizer = Recognizer()
        if rescan < 0:
            raise FacemotionError(f"rescan must be >= 0 seconds (0: scan every frame whole), got {rescan}")
        self.recognizer = recognizer
        self.rescan = rescan
        wanted = explain_labels(explain, recognizer.labels)  # an unknown label fails here, not on the first frame
        self.explain = explain
        # Smoothing can make the shown label differ from the frame's top one, whose map alone "top" would give: ask
        # for every label's map (one classifier run either way) and keep the one of the label each face shows.
        self._top_only = wanted == "top" and smooth_window is not None
        self._query: Explain = "all" if self._top_only else explain
        # The recognizer's detector, run only around the tracked faces: passed to each predict call that wants it.
        self._regions = RegionDetector(recognizer.detector)
        self._last_scan: float | None = None
        self.tracker = IouTracker(iou_threshold=iou_threshold, timeout=track_timeout)
        self.smoother = EmaSmoother(smooth_window) if smooth_window is not None else None
        self._count = 0

    def reset(self) -> None:
        """Forget tracks and averages, before a new, unrelated sequence of frames."""
        self.tracker.reset()
        if self.smoother is not None:
            self.smoother.reset()
        self._count = 0
        self._last_scan = None

    def process(self, frame: Frame | np.ndarray, *, channel_order: ChannelOrder = "bgr",
                fps: float | None = None) -> FrameResult:
        """The result for the next frame of the sequence.

        ``frame`` is a :class:`~facemotion.video.sources.Frame` (its index and time are used) or a bare image array,
        numbered in arrival order and timed ``index / fps`` (``fps`` must then be given: smoothing and the track
        timeout are in seconds).
        """
        if isinstance(frame, Frame):
            index, time, image = frame.index, frame.time, frame.image
        elif isinstance(frame, np.ndarray):
            if fps is None or not 0 < fps < float("inf"):
                raise FacemotionError("bare image frames need fps= (> 0) to be timed; or pass Frame objects")
            index, time, image = self._count, self._count / fps, frame
        else:
            raise FacemotionError(f"a frame is a facemotion.video.Frame or an image array, got {type(frame).__name__}")
        self._count += 1
        faces = self._detect_and_classify(image, time, channel_order)
        ids = self.tracker.update([face.box for face in faces], time)
        tracked = [TrackedFace(tid, self._smoothed(tid, face, time), self._shown_map(face, face.emotion))
                   for tid, face in zip(ids, faces)]
        if self.smoother is not None:
            self.smoother.retain(self.tracker.active_ids)
        height, width = image.shape[:2]
        return FrameResult(index, time, tuple(sorted(tracked, key=lambda t: t.track_id)), width, height)

    def _detect_and_classify(self, image: np.ndarray, time: float, channel_order: ChannelOrder) -> list[FaceResult]:
        """Search around the tracked faces when a whole-frame scan is recent enough, else (or if that finds nothing)
        scan the whole frame."""
        boxes = self.tracker.boxes
        recent = self._last_scan is not None and 0 <= time - self._last_scan < self.rescan
        if boxes and recent:
            faces = self.recognizer.predict(image, channel_order=channel_order, explain=self._query,
                                            detector=self._regions.around(list(boxes.values())))
            if faces:
                return faces
        self._last_scan = time
        return self.recognizer.predict(image, channel_order=channel_order, explain=self._query)

    def _shown_map(self, face: FaceResult, label: str) -> FaceResult:
        """``face`` with only ``label``'s map when ``explain`` asked for the top label's (all were computed)."""
        if not self._top_only or face.heatmap is None or list(face.heatmap.maps) == [label]:
            return face
        return dataclasses.replace(face, heatmap=Heatmap(matrix=face.heatmap.matrix,
                                                         maps={label: face.heatmap.maps[label]}))

    def _smoothed(self, track_id: int, face: FaceResult, time: float) -> FaceResult:
        if self.smoother is None:
            return face
        probabilities = self.smoother.update(track_id, np.fromiter(face.probabilities.values(), np.float64), time)
        shown = FaceResult.from_probabilities(Detection(face.box, face.detection_score, face.landmarks),
                                              probabilities, heatmap=face.heatmap, labels=tuple(face.probabilities))
        return self._shown_map(shown, shown.emotion)

    def stream(self, frames: Iterable[Frame | np.ndarray], *, fps: float | None = None,
               channel_order: ChannelOrder = "bgr") -> Iterator[FrameResult]:
        """One :class:`FrameResult` per frame, as each is processed; plug in any capture (see :meth:`process`).

        Tracks continue from earlier calls; call :meth:`reset` between unrelated videos.
        """
        for frame in frames:
            yield self.process(frame, channel_order=channel_order, fps=fps)

    def analyze(self, source: SourceLike, *, every: int = 1, start: float = 0.0,
                end: float | None = None) -> Iterator[FrameResult]:
        """Open a file, camera index or URL and yield the result of every ``every``-th frame from ``start`` to ``end``.

        Raises:
            VideoError: the source cannot be opened or read (see :class:`~facemotion.video.sources.VideoSource`).
        """
        self.reset()
        with VideoSource(source, start=start, end=end) as video:
            yield from self.stream(video.frames(every=every))
