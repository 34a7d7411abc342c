"""The local engine: rows equal to predict's, resume after a kill, the bad inputs of issue 13 (local side)."""

from __future__ import annotations

import csv
import errno
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from facemotion.batch import BatchError, BatchJob, run_batch
from facemotion.batch.local import LocalEngine
from facemotion.batch.manifest import journal_path
from facemotion.batch.tables import CsvTable
from facemotion.batch.tasks import video_csv_name
from facemotion.inference.rows import image_columns
from facemotion.labels import EMOTIONS
from tests.batch.helpers import (
    POISON,
    RAISE,
    THREE_LABELS,
    finished_inputs,
    make_dying_task,
    make_raising_task,
    write_photos,
    write_three_label_classifier,
    write_videos,
)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from facemotion.cli.main import app

    return app  # the real one, every command registered at import


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photos(tmp_path_factory.mktemp("in") / "photos", 30)


def _job(photos: Path, out: Path, model: Path, **kwargs: object) -> BatchJob:
    return BatchJob(inputs=(str(photos),), out=out, recognizer={"model": str(model), "detector": "none"},
                    workers=2, batch_size=4, **kwargs)


def _csv_lines(path: Path) -> tuple[str, list[str]]:
    header, *rows = path.read_text().splitlines()
    return header, sorted(rows)


def test_batch_csv_has_the_rows_of_predict(app: typer.Typer, photos: Path, brightness_onnx: Path,
                                            tmp_path: Path) -> None:
    common = ["--model", brightness_onnx, "--detector", "none"]
    predicted = CliRunner().invoke(app, [str(a) for a in ["predict", photos, "--csv", tmp_path / "p.csv", *common]])
    assert predicted.exit_code == 1, predicted.output  # broken.png
    result = CliRunner().invoke(app, ["batch", str(photos), "--out", str(tmp_path / "b.csv"), "--workers", "2",
                                      "--batch-size", "4", "--no-progress", *map(str, common)])
    assert result.exit_code == 1, result.output
    assert "31 inputs" in result.stderr and "1 with an error" in result.stderr
    assert _csv_lines(tmp_path / "b.csv") == _csv_lines(tmp_path / "p.csv")


def test_parquet_equals_csv_and_rerun_skips_everything(photos: Path, brightness_onnx: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    run_batch(_job(photos, tmp_path / "r.csv", brightness_onnx))
    report = run_batch(_job(photos, tmp_path / "r.parquet", brightness_onnx))
    assert (report.inputs, report.processed, report.failed) == (31, 31, 1)
    again = run_batch(_job(photos, tmp_path / "r.parquet", brightness_onnx))
    assert (again.skipped, again.processed) == (31, 0)
    a = pd.read_csv(tmp_path / "r.csv").sort_values("path").reset_index(drop=True)
    b = pd.read_parquet(tmp_path / "r.parquet").sort_values("path").reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_a_file_name_that_is_not_utf8_is_recorded_in_csv_and_parquet(brightness_onnx: Path, tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "odd", 2)
    (photos / "p0000.png").rename(photos / os.fsdecode(b"caf\xe9.png"))
    outs = [tmp_path / "r.csv", *([tmp_path / "r.parquet"] if importlib.util.find_spec("pyarrow") else [])]
    for out in outs:
        report = run_batch(_job(photos, out, brightness_onnx))
        assert (report.inputs, report.processed, report.failed) == (3, 3, 1)
        assert run_batch(_job(photos, out, brightness_onnx)).skipped == 3
    with outs[0].open(newline="", encoding="utf-8") as handle:
        assert sorted(Path(row["path"]).name for row in csv.DictReader(handle)) == [
            "broken.png", "caf\\xe9.png", "p0001.png"]
    if len(outs) > 1:
        import pyarrow.parquet as pq

        assert "caf\\xe9.png" in {Path(p).name for p in pq.read_table(outs[1]).column("path").to_pylist()}
    assert video_csv_name(os.fsdecode(b"/v/caf\xe9.mp4")).startswith("caf\udce9-")  # a name for its own CSV


def test_killed_job_resumes_with_every_input_once(brightness_onnx: Path, tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "many", 400)
    out = tmp_path / "r.csv"
    args = [sys.executable, "-m", "facemotion.cli.main", "batch", str(photos), "--out", str(out), "--model",
            str(brightness_onnx), "--detector", "none", "--workers", "2", "--batch-size", "4", "--no-progress"]
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if finished_inputs(out) >= 20:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()  # still running: the kill lands mid-job
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    with out.open("a") as handle:
        handle.write("half a row written after the last manifest,0.1")
    report = run_batch(BatchJob(inputs=(str(photos),), out=out, workers=2, batch_size=4,
                                recognizer={"model": str(brightness_onnx), "detector": "none"}))
    assert 0 < report.skipped < 401 and report.skipped + report.processed == 401
    with out.open(newline="") as handle:
        paths = [row["path"] for row in csv.DictReader(handle)]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == 401


def test_a_dying_worker_costs_only_its_input(photos: Path, brightness_onnx: Path, tmp_path: Path) -> None:
    poison = tmp_path / POISON
    poison.write_bytes((photos / "p0001.png").read_bytes())
    paths = [str(p) for p in sorted(photos.glob("p*.png"))[:6]]
    paths.insert(3, str(poison))
    spec = {"video": False, "recognizer": {"model": str(brightness_onnx), "detector": "none", "threads": 1},
            "labels": list(EMOTIONS)}
    engine = LocalEngine(spec, 2, factory=make_dying_task)
    done = [item for batch in engine.run([paths[:4], paths[4:]]) for item in batch]
    assert sorted(p for p, _ in done) == sorted(paths)
    assert engine.lost == [str(poison)]
    errors = {p: rows[0][-1] for p, rows in done}
    assert "lost: the worker processing it died twice" in errors[str(poison)]
    assert all(errors[p] is None for p in paths if p != str(poison))


def test_an_exception_in_a_task_is_an_error_row_not_a_lost_worker(photos: Path, brightness_onnx: Path,
                                                                   tmp_path: Path) -> None:
    """A task that raised killed its worker: its batch was retried one by one and the input reported "lost"."""
    bad = tmp_path / RAISE
    bad.write_bytes((photos / "p0001.png").read_bytes())
    paths = [str(p) for p in sorted(photos.glob("p*.png"))[:6]]
    paths.insert(2, str(bad))
    spec = {"video": False, "recognizer": {"model": str(brightness_onnx), "detector": "none", "threads": 1},
            "labels": list(EMOTIONS)}
    engine = LocalEngine(spec, 2, factory=make_raising_task)
    done = [item for batch in engine.run([paths[:4], paths[4:]]) for item in batch]
    assert sorted(p for p, _ in done) == sorted(paths) and engine.lost == []
    errors = {p: rows[0][-1] for p, rows in done}
    assert errors[str(bad)] == f"{bad}: RuntimeError: a bug outside the per-image path"
    assert all(errors[p] is None for p in paths if p != str(bad))  # its batchmates were answered one by one


def test_columns_follow_the_models_labels(app: typer.Typer, photos: Path, brightness_onnx: Path,
                                          tmp_path: Path) -> None:
    """The table had FER2013's columns whatever the model: a 3-label model's values landed under wrong names."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    model = write_three_label_classifier(tmp_path / "three.onnx")
    common = ["--model", str(model), "--detector", "none"]
    CliRunner().invoke(app, ["predict", str(photos), "--csv", str(tmp_path / "p.csv"), *common])
    result = CliRunner().invoke(app, ["batch", str(photos), "--out", str(tmp_path / "b.csv"), "--workers", "2",
                                      "--batch-size", "4", "--no-progress", *common])
    assert result.exit_code == 1 and "1 with an error" in result.stderr, result.output
    header, rows = _csv_lines(tmp_path / "b.csv")
    assert header.split(",") == image_columns(THREE_LABELS)
    assert (header, rows) == _csv_lines(tmp_path / "p.csv")
    report = run_batch(_job(photos, tmp_path / "b.parquet", model))
    assert (report.processed, report.failed) == (31, 1)
    a = pd.read_csv(tmp_path / "b.csv").sort_values("path").reset_index(drop=True)
    b = pd.read_parquet(tmp_path / "b.parquet").sort_values("path").reset_index(drop=True)
    assert list(b.columns) == image_columns(THREE_LABELS)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    model.write_bytes(brightness_onnx.read_bytes())  # the same --model path, now a model of FER2013's 7 labels
    with pytest.raises(BatchError, match=r"another job \(labels was \['calm', 'tense', 'glad'\], now \['angry'"):
        run_batch(_job(photos, tmp_path / "b.parquet", model))


def test_the_manifest_is_not_rewritten_per_batch(photos: Path, brightness_onnx: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Rewriting the whole list of finished inputs after every batch made a job O(inputs x batches)."""
    from facemotion.batch import manifest as manifest_module

    writes: list[Path] = []
    real = manifest_module.write_atomic
    monkeypatch.setattr(manifest_module, "write_atomic", lambda path, data: (writes.append(path), real(path, data)))
    out = tmp_path / "r.csv"
    report = run_batch(_job(photos, out, brightness_onnx))  # 31 inputs in 8 batches
    assert report.processed == 31 and len(writes) <= 3  # new, header, end: never per batch
    assert finished_inputs(out) == 31 and not journal_path(out).exists()  # folded into the snapshot at the end
    assert run_batch(_job(photos, out, brightness_onnx)).skipped == 31


def test_output_of_another_job_or_a_foreign_file_is_refused(photos: Path, brightness_onnx: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    run_batch(_job(photos, out, brightness_onnx))
    other = BatchJob(inputs=(str(photos),), out=out, recognizer={"model": str(brightness_onnx), "detector": "haar"})
    with pytest.raises(BatchError, match=r"another job \(recognizer.detector was 'none', now 'haar'\)"):
        run_batch(other)
    foreign = tmp_path / "mine.csv"
    foreign.write_text("someone's spreadsheet\n")
    with pytest.raises(BatchError, match="mine.csv: exists and is not the output of a facemotion batch job"):
        run_batch(_job(photos, foreign, brightness_onnx))
    assert foreign.read_text() == "someone's spreadsheet\n"


def test_full_disk_stops_the_job_and_keeps_what_is_done(photos: Path, brightness_onnx: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = CsvTable.append

    def fill_up(self: CsvTable, rows: list) -> dict:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, rows)

    monkeypatch.setattr(CsvTable, "append", fill_up)
    out = tmp_path / "r.csv"
    with pytest.raises(BatchError, match=r"the disk is full .* run the same command again"):
        run_batch(_job(photos, out, brightness_onnx))
    monkeypatch.setattr(CsvTable, "append", real)
    report = run_batch(_job(photos, out, brightness_onnx))
    assert report.skipped > 0 and report.skipped + report.processed == 31
    header, rows = _csv_lines(out)
    assert len(rows) == 31 == len({row.split(",")[0] for row in rows})


def test_mixed_folder_takes_one_kind_and_says_so(brightness_onnx: Path, tmp_path: Path) -> None:
    mixed = write_videos(write_photos(tmp_path / "mixed", 3), 1)
    report = run_batch(_job(mixed, tmp_path / "r.csv", brightness_onnx))
    assert report.inputs == 4 and any("skipped 1 video file" in note and "--video" in note for note in report.notes)
    named = BatchJob(inputs=(str(mixed / "clip0.avi"),), out=tmp_path / "v.csv",
                     recognizer={"model": str(brightness_onnx), "detector": "none"})
    run_batch(named)
    assert "a video, not a photo; process it in a job with --video" in (tmp_path / "v.csv").read_text()


def test_videos_one_csv_each_and_a_summary(brightness_onnx: Path, tmp_path: Path) -> None:
    from facemotion.inference.recognizer import Recognizer
    from facemotion.video import CsvWriter, VideoAnalyzer, VideoSource, run_video

    videos = write_videos(tmp_path / "videos", 3)
    (videos / "notes.mp4").write_text("not a video")
    out = tmp_path / "per-video"
    job = BatchJob(inputs=(str(videos),), out=out, video=True, workers=2,
                   recognizer={"model": str(brightness_onnx), "detector": "none"})
    report = run_batch(job)
    assert (report.processed, report.failed) == (4, 1)
    with (out / "summary.csv").open(newline="") as handle:
        summary = {Path(row["path"]).name: row for row in csv.DictReader(handle)}
    assert summary["clip2.avi"]["frames"] == "8" and summary["notes.mp4"]["error"]
    expected = tmp_path / "expected.csv"
    with VideoSource(str(videos / "clip1.avi")) as source:
        writer = CsvWriter(expected)
        run_video(source, VideoAnalyzer(Recognizer(str(brightness_onnx), "none")), csv=writer)
        writer.close()
    assert (out / "csv" / video_csv_name(str(videos / "clip1.avi"))).read_text() == expected.read_text()
    assert run_batch(job).skipped == 4


def test_an_output_that_cannot_be_written_is_named_and_leaves_nothing(app: typer.Typer, photos: Path,
                                                                      brightness_onnx: Path, tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "a.jpg").write_text("a file, not a folder")
    cases = {tmp_path / "folder.csv": "folder.csv: is a folder",
             tmp_path / "a.jpg" / "r.parquet": "a.jpg/r.parquet: cannot write the output there",
             tmp_path / "a.jpg" / "r.csv": "a.jpg/r.csv: cannot write the output there"}
    for out, message in cases.items():
        result = CliRunner().invoke(app, ["batch", str(photos), "--out", str(out), "--model", str(brightness_onnx),
                                          "--detector", "none", "--no-progress"])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert message in result.stderr and "choose another --out" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "folder.csv"]  # no stray manifest
    assert not any((tmp_path / "folder.csv").iterdir())


def test_bad_options_name_the_problem(photos: Path, tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="ends in .parquet"):
        BatchJob(inputs=(str(photos),), out=tmp_path / "r.json")
    with pytest.raises(BatchError, match="workers must be a whole number from 0 .* to 100,000, got 10000000"):
        BatchJob(inputs=(str(photos),), out=tmp_path / "r.csv", workers=10_000_000)
    for field, value in (("every", 2.5), ("every", True), ("batch_size", 0), ("batch_size", 1.5), ("workers", 0.5)):
        with pytest.raises(BatchError, match=f"{field} must be a whole number"):  # 2.5 would fail on every video
            BatchJob(inputs=(str(photos),), out=tmp_path / "out", video=True, **{field: value})
    with pytest.raises(BatchError, match="engine must be one of local, ray"):
        BatchJob(inputs=(str(photos),), out=tmp_path / "r.csv", engine="spark")
    with pytest.raises(BatchError, match="writes a folder"):
        BatchJob(inputs=(str(photos),), out=tmp_path / "r.csv", video=True)
