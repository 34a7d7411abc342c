from __future__ import annotations

import pytest

from facemotion.errors import FacemotionError
from facemotion.types import Box
from facemotion.video.tracking import IouTracker, iou


def test_iou() -> None:
    a = Box(0, 0, 10, 10)
    assert iou(a, a) == 1.0
    assert iou(a, Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou(a, Box(10, 0, 10, 10)) == 0.0  # touching edges do not overlap
    assert iou(a, Box(3, 3, 0, 0)) == 0.0


def test_ids_follow_moving_faces_and_new_faces_get_new_ids() -> None:
    tracker = IouTracker()
    assert tracker.update([Box(0, 0, 40, 40), Box(100, 0, 40, 40)], time=0.0) == [1, 2]
    # both moved a little; given in the other order, each keeps its id
    assert tracker.update([Box(104, 2, 40, 40), Box(3, 1, 40, 40)], time=0.1) == [2, 1]
    assert tracker.update([Box(3, 1, 40, 40), Box(300, 300, 40, 40)], time=0.2) == [1, 3]
    assert tracker.active_ids == [1, 2, 3]


def test_best_overlap_wins_a_contested_track() -> None:
    tracker = IouTracker(iou_threshold=0.1)
    tracker.update([Box(0, 0, 40, 40)], time=0.0)
    # two candidates overlap track 1; the better one continues it, the other starts a track
    assert tracker.update([Box(20, 0, 40, 40), Box(2, 0, 40, 40)], time=0.1) == [2, 1]


def test_a_lost_face_keeps_its_id_until_the_timeout() -> None:
    tracker = IouTracker(timeout=1.0)
    tracker.update([Box(0, 0, 40, 40)], time=0.0)
    assert tracker.update([], time=0.5) == []
    assert tracker.update([Box(1, 0, 40, 40)], time=1.0) == [1]  # back within a second: same person
    tracker.update([], time=1.5)
    assert tracker.update([Box(1, 0, 40, 40)], time=2.6) == [2]  # gone for 1.6 s: a new track
    assert tracker.active_ids == [2]


def test_low_overlap_starts_a_new_track_and_reset_restarts_ids() -> None:
    tracker = IouTracker(iou_threshold=0.5)
    tracker.update([Box(0, 0, 40, 40)], time=0.0)
    assert tracker.update([Box(25, 0, 40, 40)], time=0.1) == [2]  # IoU 0.23
    tracker.reset()
    assert tracker.update([Box(0, 0, 40, 40)], time=5.0) == [1]


@pytest.mark.parametrize("kwargs", [{"iou_threshold": 0.0}, {"iou_threshold": 1.5}, {"timeout": -1.0}])
def test_bad_settings(kwargs: dict) -> None:
    with pytest.raises(FacemotionError):
        IouTracker(**kwargs)


def test_sparse_frames_do_not_end_tracks_between_two_frames() -> None:
    tracker = IouTracker(timeout=1.0)
    box = Box(0, 0, 40, 40)
    assert [tracker.update([box], time=2.0 * i) for i in range(4)] == [[1]] * 4  # one frame every 2 s
    tracker.update([], time=8.0)  # missed once
    assert tracker.update([box], time=10.0) == [1]
    tracker.update([], time=12.0)
    tracker.update([], time=14.0)
    assert tracker.update([box], time=16.0) == [2]  # missed twice: gone
