from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import cv2
import pytest
import typer
from typer.testing import CliRunner, Result

import facemotion.video.display as display
from facemotion.labels import EMOTIONS
from facemotion.video import CSV_COLUMNS
from tests.video.media import damage_frame, square_frames, write_bad_videos, write_video


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from facemotion.cli.main import app

    return app  # the real one, every command registered at import


def run(app: typer.Typer, *args: object) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def woman2_run(app: typer.Typer, media_dir: Path, yunet_path: Path,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One run over the shared clip, every 10th frame, with every output."""
    out = tmp_path_factory.mktemp("woman2")
    result = run(app, "video", media_dir / "woman2.mp4", "--every", 10, "--detector", "yunet",
                 "--detector-model", yunet_path, "--csv", out / "rows.csv", "--out", out / "annotated.mp4",
                 "--plot", out / "timeline.png", "--summary", out / "summary.json")
    return result, out


@pytest.mark.integration
def test_woman2_rows_for_every_processed_frame_and_one_main_track(woman2_run: tuple[Result, Path],
                                                                  media_dir: Path) -> None:
    result, out = woman2_run
    assert result.exit_code == 0, result.stderr
    frame_count = int(cv2.VideoCapture(str(media_dir / "woman2.mp4")).get(cv2.CAP_PROP_FRAME_COUNT))
    rows = read_rows((out / "rows.csv").read_text())
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert sorted({int(r["frame"]) for r in rows}) == list(range(0, frame_count, 10))
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times) and times[-1] == pytest.approx((frame_count - 1) // 10 * 10 / 29.97, abs=0.05)
    faces = [r for r in rows if r["track"]]
    main = max({r["track"] for r in faces}, key=[r["track"] for r in faces].count)
    assert [r["track"] for r in faces].count(main) >= 0.9 * len(range(0, frame_count, 10))
    for row in faces:
        assert row["emotion"] in EMOTIONS and row["raw_emotion"] in EMOTIONS
        assert sum(float(row[e]) for e in EMOTIONS) == pytest.approx(1.0, abs=1e-4)
        assert float(row["confidence"]) == pytest.approx(max(float(row[e]) for e in EMOTIONS), abs=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    main_tracks = [t for t in summary["per_track"] if t["frames"] >= 0.1 * summary["frames"]]
    assert len(main_tracks) == 1 and main_tracks[0]["dominant_emotion"] in EMOTIONS
    assert summary["frames"] == len(range(0, frame_count, 10)) and summary["processing_fps"] > 0
    assert f"1 in 10 of {frame_count}" in result.stdout and f"track #{main}" in result.stdout


@pytest.mark.integration
def test_woman2_annotated_video_and_plot(woman2_run: tuple[Result, Path], media_dir: Path) -> None:
    _, out = woman2_run
    original, annotated = (cv2.VideoCapture(str(p)) for p in (media_dir / "woman2.mp4", out / "annotated.mp4"))
    for prop in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
        assert annotated.get(prop) == original.get(prop)
    assert annotated.get(cv2.CAP_PROP_FPS) == pytest.approx(original.get(cv2.CAP_PROP_FPS), abs=0.01)
    decoded = 0
    while annotated.grab():
        decoded += 1
    assert decoded == int(original.get(cv2.CAP_PROP_FRAME_COUNT))
    plot = cv2.imread(str(out / "timeline.png"))
    assert plot is not None and plot.shape[1] > 600


@pytest.mark.integration
def test_webcam_headless_on_a_file_writes_csv_to_stdout(app: typer.Typer, media_dir: Path, yunet_path: Path) -> None:
    result = run(app, "webcam", "--headless", "--camera", media_dir / "woman2.mp4", "--duration", 2, "--every", 10,
                 "--detector", "yunet", "--detector-model", yunet_path, "--no-smooth")
    assert result.exit_code == 0, result.stderr
    rows = read_rows(result.stdout)
    assert [int(r["frame"]) for r in rows] == list(range(0, 60, 10))
    assert all(r["emotion"] == r["raw_emotion"] for r in rows)  # --no-smooth
    assert "6 frames processed" in result.stderr  # the summary moves to stderr when stdout carries the CSV


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi", square_frames(20), fps=10.0)


def test_csv_to_stdout_and_start_end(app: typer.Typer, clip: Path) -> None:
    result = run(app, "video", clip, "--detector", "haar", "--model", "fast", "--csv", "-", "--start", "0:00.5",
                 "--end", "1")
    assert result.exit_code == 0, result.stderr
    rows = read_rows(result.stdout)
    assert [int(r["frame"]) for r in rows] == [5, 6, 7, 8, 9, 10]  # no face for Haar: one row per frame
    assert all(r["track"] == "" for r in rows)
    assert "6 frames processed" in result.stderr and "0 tracks" in result.stderr


@pytest.mark.parametrize("case, message", [
    ("not a video", "not a video"),
    ("empty", "empty"),
    ("zero frames", "no frames"),
    ("unsupported codec", "codec 'ZZZZ'"),
    ("image", "facemotion predict"),
])
def test_bad_videos_exit_1_with_a_clear_error(app: typer.Typer, tmp_path: Path, case: str, message: str) -> None:
    path = write_bad_videos(tmp_path)[case]
    result = run(app, "video", path, "--detector", "haar", "--csv", tmp_path / "rows.csv")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}") and message in result.stderr


def test_missing_file_and_unopenable_camera(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, "video", tmp_path / "missing.mp4", "--detector", "haar")
    assert result.exit_code == 1 and "missing.mp4: no such file" in result.stderr
    result = run(app, "webcam", "--headless", "--camera", 99, "--detector", "haar")
    assert result.exit_code == 1 and "camera 99: cannot be opened" in result.stderr


def test_a_file_cut_short_keeps_its_rows(app: typer.Typer, tmp_path: Path) -> None:
    data = write_video(tmp_path / "full.avi", square_frames(40)).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    result = run(app, "video", cut, "--detector", "haar", "--csv", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.stderr
    assert 5 < len(read_rows((tmp_path / "rows.csv").read_text())) < 40


def test_bad_options_exit_2_before_any_work(app: typer.Typer, clip: Path, tmp_path: Path) -> None:
    for args, message in [
        (["--plot", tmp_path / "t.gif"], "must end in .png"),
        (["--out", tmp_path / "a.gif"], "must end in .mp4"),
        (["--detector", "none"], "makes no sense for video"),
        (["--start", "soon"], "--start must be seconds"),
        (["--start", 2, "--end", 1], "start < end"),
        (["--detector", "yunett"], "did you mean 'yunet'"),
    ]:
        result = run(app, "video", clip, *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.exit_code, result.stderr)
    result = run(app, "video", clip, "--start", 5)
    assert result.exit_code == 1 and "past the end" in result.stderr
    result = run(app, "video", "0")
    assert result.exit_code == 2 and "facemotion webcam --camera 0" in result.stderr


def test_webcam_window_without_a_gui_suggests_headless(app: typer.Typer, clip: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display, "_gui_backend", lambda: "NONE")
    result = run(app, "webcam", "--camera", clip, "--detector", "haar")
    assert result.exit_code == 2 and "--headless" in result.stderr


def test_an_output_that_is_the_input_is_refused_before_writing(app: typer.Typer, clip: Path, tmp_path: Path) -> None:
    """`video v.avi --out v.avi` (or --csv, --summary, through a symlink) used to overwrite the recording."""
    before = clip.read_bytes()
    link = tmp_path / "link.avi"
    link.symlink_to(clip)
    for args, message in [
        (["--out", clip], "--out"),
        (["--csv", clip], "--csv"),
        (["--summary", link], "--summary"),
        (["--csv", tmp_path / "same.csv", "--summary", tmp_path / "same.csv"], "are the same file"),
    ]:
        result = run(app, "video", clip, "--detector", "haar", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.exit_code, result.stderr)
        assert "frames processed" not in result.output
    assert clip.read_bytes() == before and not (tmp_path / "same.csv").exists()


def test_an_output_that_is_the_detector_model_the_environment_names_is_refused(
        app: typer.Typer, clip: Path, tmp_path: Path, yunet_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    detector = tmp_path / "y.onnx"
    shutil.copy(yunet_path, detector)
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(detector))
    result = run(app, "video", clip, "--detector", "yunet", "--csv", detector)
    assert result.exit_code == 2 and f"--csv {detector}: is the input" in result.stderr, result.stderr
    assert detector.read_bytes() == yunet_path.read_bytes()


def test_a_folder_as_summary_is_refused_before_the_first_frame(app: typer.Typer, clip: Path, tmp_path: Path) -> None:
    result = run(app, "video", clip, "--detector", "haar", "--summary", tmp_path, "--csv", tmp_path / "rows.csv")
    assert result.exit_code == 2 and "is a folder" in result.stderr
    assert "frames processed" not in result.output and not (tmp_path / "rows.csv").exists()


def test_a_damaged_frame_is_skipped_and_the_rest_processed(app: typer.Typer, tmp_path: Path) -> None:
    """One garbage frame in 60 used to end the run at frame 29 with exit 0."""
    path = damage_frame(write_video(tmp_path / "damaged.avi", square_frames(60)), 30)
    result = run(app, "video", path, "--detector", "haar", "--model", "fast", "--csv", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.stderr
    frames = [int(r["frame"]) for r in read_rows((tmp_path / "rows.csv").read_text())]
    assert frames == [i for i in range(60) if i != 30]
    assert "frame 30: cannot be decoded" in result.stderr


def test_threads_are_capped_at_the_cpu_count(app: typer.Typer) -> None:
    help_text = CliRunner().invoke(app, ["video", "--help"], env={"COLUMNS": "300"}).stdout
    assert "at most the CPU count" in help_text
