from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemotion.errors import FacemotionError
from facemotion.inference.annotate import EMOTION_COLORS
from facemotion.inference.recognizer import Recognizer
from facemotion.labels import EMOTIONS
from facemotion.video import CSV_COLUMNS, AnnotatedVideoWriter, CsvWriter, Frame, VideoAnalyzer, VideoSummary
from facemotion.video.timeline import break_gaps, plot_timeline
from facemotion.video.writers import annotate_frame
from tests.video.media import BrightnessClassifier, SquareDetector, square_frames


@pytest.fixture
def results() -> list:
    """12 frames at 10 fps: a face in frames 0-5 and 9-11, none in 6-8."""
    analyzer = VideoAnalyzer(Recognizer(BrightnessClassifier(), SquareDetector()))
    images = square_frames(6) + [np.zeros((72, 96, 3), np.uint8)] * 3 + square_frames(3)
    return list(analyzer.stream(Frame(i, i / 10, image) for i, image in enumerate(images)))


def test_csv_rows_are_flushed_as_they_are_written(tmp_path: Path, results: list) -> None:
    path = tmp_path / "deep" / "rows.csv"
    writer = CsvWriter(path)
    for result in results[:7]:
        writer.write(result)
    rows = list(csv.DictReader(path.open()))  # read while the writer is still open
    assert len(rows) == 7
    writer.close()
    assert list(rows[0]) == list(CSV_COLUMNS)
    first, empty = rows[0], rows[6]
    assert (first["frame"], first["time_s"], first["track"]) == ("0", "0.0", "1")
    assert first["emotion"] == "angry" and first["raw_emotion"] == "angry"
    assert sum(float(first[e]) for e in EMOTIONS) == pytest.approx(1.0, abs=1e-4)
    assert int(first["w"]) > 20 and first["detection_score"] == "0.9"
    assert (empty["frame"], empty["time_s"], empty["track"], empty["emotion"]) == ("6", "0.6", "", "")



def test_a_frame_row_holds_the_photo_csv_cells_of_its_smoothed_face(results: list) -> None:
    from facemotion.inference.rows import face_cells
    from facemotion.video.writers import csv_rows

    tracked = results[0].faces[0]
    row = csv_rows(results[0])[0]
    cells = face_cells(tracked.smoothed)
    assert row[3:3 + len(cells)] == cells  # written once, in inference.rows
    assert len(row) == len(CSV_COLUMNS)

def test_csv_to_a_stream(results: list) -> None:
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.write(results[0])
    writer.close()
    assert not buffer.closed and buffer.getvalue().splitlines()[0].startswith("frame,time_s,track,")


def test_annotated_video_has_every_frame_and_draws_the_track(tmp_path: Path, results: list) -> None:
    path = tmp_path / "out" / "annotated.mp4"
    writer = AnnotatedVideoWriter(path, fps=10.0, size=(96, 72))
    for result in results:
        writer.write(np.zeros((72, 96, 3), np.uint8), result)
    writer.write(np.zeros((36, 48, 3), np.uint8), None)  # another size is resized, nothing is drawn
    writer.close()
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 13
    capture.release()
    drawn = annotate_frame(np.zeros((72, 96, 3), np.uint8), results[0])
    assert drawn.any() and (drawn == EMOTION_COLORS["angry"]).all(axis=-1).any()
    blank = np.zeros((72, 96, 3), np.uint8)
    assert annotate_frame(blank, results[7]) is blank  # no face: nothing to draw, no copy


def test_annotated_video_refuses_unknown_suffixes(tmp_path: Path) -> None:
    with pytest.raises(FacemotionError, match=r"must end in \.mp4"):
        AnnotatedVideoWriter(tmp_path / "out.gif", fps=10.0, size=(96, 72))


def test_summary(results: list) -> None:
    summary = VideoSummary("clip", 10.0)
    for result in results:
        summary.add(result)
    assert (summary.frames, summary.frames_with_faces, summary.faces, len(summary.tracks)) == (12, 9, 9, 1)
    track = summary.tracks[1]
    assert track.frames == 9 and track.first_time == 0.0 and track.last_time == pytest.approx(1.1)
    emotion, mean = track.dominant()
    assert emotion == max(track.mean_probabilities(), key=track.mean_probabilities().get) and 0 < mean <= 1
    record = summary.to_dict()
    assert record["per_track"][0]["track_id"] == 1 and record["tracks"] == 1
    assert sum(record["per_track"][0]["label_frames"].values()) == 9
    assert [t.track_id for t in summary.main_tracks()] == [1]


def test_break_gaps() -> None:
    times, values = break_gaps(np.array([0.0, 0.1, 0.2, 1.0, 1.1]), np.ones((5, 7)), gap=0.3)
    assert np.isnan(times[3]) and np.isnan(values[3]).all() and len(times) == 6
    same, _ = break_gaps(np.array([0.0, 0.1]), np.ones((2, 7)), gap=0.3)
    assert len(same) == 2


def test_timeline_plot(tmp_path: Path, results: list) -> None:
    pytest.importorskip("matplotlib")
    summary = VideoSummary("clip.mp4", 10.0)
    for result in results:
        summary.add(result)
    path = plot_timeline(summary, tmp_path / "plots" / "timeline.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 600
    empty = plot_timeline(VideoSummary("none.mp4"), tmp_path / "empty.svg")  # no face: still a figure
    assert empty.read_text().lstrip().startswith("<?xml")
    with pytest.raises(FacemotionError, match="must end in"):
        plot_timeline(summary, tmp_path / "timeline.gif")


def test_timeline_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(FacemotionError, match=r"pip install 'facemotion\[plot\]'"):
        plot_timeline(VideoSummary("x"), tmp_path / "t.png")
