"""Give each face a track id that stays the same from frame to frame, so emotions can be followed per person.

Boxes are matched to the tracks' last boxes by intersection over union, greedily from the best overlap down (what
SORT does with a Hungarian solver; with the few faces of a recorded session greedy gives the same pairs). A track
that finds no box for ``timeout`` seconds ends; a face that comes back later gets a new id. Time, not a frame
count, so the timeout means the same whether every frame or every tenth is processed; when processed frames are
further apart than the timeout allows (``--every 60``), a track still survives one frame without its face.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from facemotion.defaults import DEFAULT_IOU_THRESHOLD, DEFAULT_TRACK_TIMEOUT
from facemotion.errors import FacemotionError
from facemotion.types import Box

__all__ = ["DEFAULT_IOU_THRESHOLD", "DEFAULT_TRACK_TIMEOUT", "IouTracker", "iou"]



def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, in [0, 1] (0 when either is empty)."""
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(a.area + b.area - inter)


@dataclass
class _Track:
    track_id: int
    box: Box
    last_seen: float


class IouTracker:
    """Assigns track ids to the boxes of successive frames.

    Example::

        tracker = IouTracker()
        tracker.update([Box(10, 10, 50, 50)], time=0.0)     # [1]
        tracker.update([Box(12, 11, 50, 50)], time=0.04)    # [1]: the same face, moved a little

    Args:
        iou_threshold: the least overlap, in (0, 1], for a box to continue a track.
        timeout: seconds a track waits for its face to come back before it ends.
    """

    def __init__(self, *, iou_threshold: float = DEFAULT_IOU_THRESHOLD,
                 timeout: float = DEFAULT_TRACK_TIMEOUT) -> None:
        if not 0.0 < iou_threshold <= 1.0:
            raise FacemotionError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        if not timeout >= 0:  # NaN too: tracks would end on every frame
            raise FacemotionError(f"the track timeout must be >= 0 seconds, got {timeout}")
        self.iou_threshold = iou_threshold
        self.timeout = timeout
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1
        self._last_time: float | None = None
        self._steps: deque[float] = deque(maxlen=15)

    def reset(self) -> None:
        """Forget every track; ids start again at 1 (for a new video)."""
        self._tracks.clear()
        self._next_id = 1
        self._last_time = None
        self._steps.clear()

    @property
    def active_ids(self) -> list[int]:
        """The ids of the tracks still alive, oldest first."""
        return sorted(self._tracks)

    @property
    def boxes(self) -> dict[int, Box]:
        """The last box of each live track, by id."""
        return {tid: track.box for tid, track in sorted(self._tracks.items())}

    def update(self, boxes: Sequence[Box], time: float) -> list[int]:
        """The track id of each box, in the order given; tracks unseen for longer than the timeout end first."""
        if self._last_time is not None:
            self._steps.append(time - self._last_time)
        self._last_time = time
        step = statistics.median(self._steps) if self._steps else 0.0  # the usual spacing of processed frames
        timeout = max(self.timeout, 2.5 * step)  # sparse frames: survive one processed frame without the face
        self._tracks = {tid: t for tid, t in self._tracks.items() if time - t.last_seen <= timeout}
        pairs = sorted(((iou(box, track.box), i, tid) for i, box in enumerate(boxes)
                        for tid, track in self._tracks.items()), key=lambda p: (-p[0], p[1], p[2]))
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for overlap, i, tid in pairs:
            if overlap < self.iou_threshold:
                break
            if ids[i] is None and tid not in taken:
                ids[i] = tid
                taken.add(tid)
        assigned = []
        for box, matched in zip(boxes, ids):
            if matched is None:
                tid = self._next_id
                self._next_id += 1
            else:
                tid = matched
            self._tracks[tid] = _Track(tid, box, time)
            assigned.append(tid)
        return assigned
