from __future__ import annotations

import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.faces import FaceDetector
from facemotion.inference.recognizer import Recognizer
from facemotion.types import Box, Detection, Landmarks
from facemotion.video import Frame, VideoAnalyzer
from facemotion.video.regions import REGION_SETTINGS, RegionDetector, region_settings
from tests.video.media import BrightnessClassifier, SquareDetector


class LandmarkSquareDetector(SquareDetector):
    """The square detector, with five landmarks at the box's corners and centre, recording each image's shape."""

    name = "yunet"  # pretend, to get YuNet's region settings

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.shapes.append(image.shape)
        out = []
        for d in super().detect(image):
            b = d.box
            points = [(b.x, b.y), (b.x + b.w, b.y), (b.x + b.w / 2, b.y + b.h / 2), (b.x, b.y + b.h),
                      (b.x + b.w, b.y + b.h)]
            out.append(Detection(b, d.score, Landmarks.from_points(points)))
        return out


def frame_with_square(x: int, y: int, side: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[y:y + side, x:x + side] = 220
    return image


def test_settings_per_detector() -> None:
    assert region_settings("haar") == REGION_SETTINGS["haar"]
    assert region_settings("my-detector") == REGION_SETTINGS["yunet"]
    detector = RegionDetector(SquareDetector(), expand=0.5, face_size=80)
    assert (detector.name, detector.expand, detector.face_size) == ("square", 0.5, 80)


def test_boxes_and_landmarks_come_back_in_frame_pixels() -> None:
    base = LandmarkSquareDetector()
    detector = RegionDetector(base, expand=0.5, face_size=100)
    image = frame_with_square(300, 200, 200)
    [found] = detector.detect(image, [Box(290, 195, 200, 200)])  # where it was one frame ago
    assert base.shapes == [(192, 200, 3)]  # the region (400x385 inside the frame), shrunk so the face is 100 px
    assert abs(found.box.x - 300) <= 2 and abs(found.box.y - 200) <= 2
    assert abs(found.box.w - 200) <= 3 and abs(found.box.h - 200) <= 3
    centre = found.landmarks.points()[2]
    assert centre == pytest.approx((400, 300), abs=2.5)


def test_only_the_regions_are_searched_and_duplicates_are_dropped() -> None:
    image = frame_with_square(40, 40, 60)
    image[300:360, 500:560] = 220  # a second face, far from the region
    detector = RegionDetector(SquareDetector(), expand=0.5, face_size=1000)
    regions = [Box(42, 38, 60, 60), Box(45, 42, 60, 60)]  # two overlapping regions, one face
    found = detector.detect(image, regions)
    assert [d.box for d in found] == [Box(40, 40, 60, 60)]
    assert detector.detect(image, []) == []
    bound = detector.around(regions)  # one frame's regions as a FaceDetector, for Recognizer.predict(detector=...)
    assert isinstance(bound, FaceDetector) and bound.name == "square"
    assert bound.detect(image) == found


def test_the_analyzer_leaves_its_recognizer_as_it_was() -> None:
    base = LandmarkSquareDetector()
    recognizer = Recognizer(BrightnessClassifier(), base)
    analyzer = VideoAnalyzer(recognizer, rescan=1.0)
    for i in range(3):
        analyzer.process(Frame(i, i * 0.1, frame_with_square(100 + 2 * i, 100, 120)))
    assert recognizer.detector is base and analyzer.recognizer is recognizer
    assert len(base.shapes) == 3 and base.shapes[1] != base.shapes[0]  # frames 1-2 searched regions only


def test_the_analyzer_rescans_whole_frames_at_the_interval_and_when_regions_are_empty() -> None:
    base = LandmarkSquareDetector()
    analyzer = VideoAnalyzer(Recognizer(BrightnessClassifier(), base), rescan=0.5)
    whole = (480, 640, 3)
    images = [frame_with_square(100 + 2 * i, 100, 120) for i in range(12)]
    images[8] = np.zeros_like(images[8])  # the face is gone for one frame
    results = [analyzer.process(Frame(i, i * 0.1, image)) for i, image in enumerate(images)]
    scans = [shape == whole for shape in base.shapes]
    # frame 0: whole; 1-4 regions; 5 (0.5 s later): whole; 6-7 regions; 8: regions empty -> whole; 9-11 regions
    assert scans == [True, False, False, False, False, True, False, False, False, True, False, False, False]
    assert [len(r.faces) for r in results] == [1] * 8 + [0] + [1] * 3
    assert {r.faces[0].track_id for r in results if r.faces} == {1}
    assert base.shapes[1][0] < 480 and base.shapes[1][1] < 640

    base.shapes.clear()
    every_frame = VideoAnalyzer(Recognizer(BrightnessClassifier(), base), rescan=0)
    for i, image in enumerate(images[:4]):
        every_frame.process(Frame(i, i * 0.1, image))
    assert base.shapes == [whole] * 4
    with pytest.raises(FacemotionError, match="rescan"):
        VideoAnalyzer(Recognizer(BrightnessClassifier(), base), rescan=-1)
