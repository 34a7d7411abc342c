"""``facemotion batch``: emotions of the faces in thousands of photos or hundreds of videos, resumable, on this
machine's cores or on a Ray cluster. A thin layer over :mod:`facemotion.batch`; only typer is imported up front."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from facemotion.cli._common import DETECTOR_HELP, MODEL_HELP, describe_os_error, exit_on_error, setup_logging
from facemotion.cli.app import app
from facemotion.defaults import DEFAULT_MIN_FACE_SIZE, DEFAULT_SCORE_THRESHOLD

__all__ = ["batch"]

BATCH_HELP = """Find the faces in many photos (or videos) and tell the emotion of each, in parallel, resumable.

Examples:

  facemotion batch photos/ --out emotions.parquet                 # one process per core

  facemotion batch 'shoots/**/*.jpg' --out emotions.csv --workers 4

  facemotion batch photos/ --out emotions.parquet --engine ray --address 10.0.0.5:6379

  facemotion batch interviews/ --video --every 5 --out per-video/  # one CSV per video and summary.csv

Rows: those of `facemotion predict --csv` (one per face, one per photo without a face or with an error). Parquet
output is a folder of part files that pandas, pyarrow, Spark and Ray read as one table.

Run the same command again to resume: inputs already finished (listed in the output's manifest) are skipped. An
output that belongs to a job with other settings is refused.

Exit code: 0 every input was read; 1 some inputs failed (each has an error row); 2 a bad option, model, output or
engine; 130 interrupted (the finished batches are kept)."""


class _Bar:
    """A rich progress bar on stderr: inputs done, inputs/s and the time left."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._started = time.perf_counter()
        if not enabled or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]:>7.1f} inputs/s"), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task("batch", total=None, rate=0.0)
        self._bar.start()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            rate = done / max(time.perf_counter() - self._started, 1e-9)
            self._bar.update(self._task, completed=done, total=total, rate=rate)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def batch(
    inputs: list[str] = typer.Argument(..., help="Photo or video files, folders, quoted globs; with --engine ray "
                                                 "also object-store URIs the cluster can read."),
    out: Path = typer.Option(..., "--out", "-o", help="Photos: results.parquet (a folder) or results.csv; "
                                                      "videos: a folder."),
    video: bool = typer.Option(False, "--video", help="The inputs are videos: one CSV per video and summary.csv."),
    engine: str = typer.Option("local", help="local (processes on this machine) or ray (a Ray cluster)."),
    workers: int = typer.Option(0, min=0, help="Worker processes or Ray actors (0 = one per core)."),
    batch_size: int = typer.Option(32, min=1, help="Photos per task; results are saved after every batch."),
    address: Optional[str] = typer.Option(None, help="Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: "
                                                     "start a local Ray)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look for inputs in subfolders too."),
    every: int = typer.Option(1, min=1, help="Videos: analyse every N-th frame."),
    model: str = typer.Option("default", help=MODEL_HELP),
    detector: str = typer.Option("auto", help=DETECTOR_HELP),
    detector_model: Optional[Path] = typer.Option(None, help="YuNet .onnx file (else $FACEMOTION_YUNET_MODEL)."),
    min_face_size: int = typer.Option(DEFAULT_MIN_FACE_SIZE, min=1,
                                      help="Ignore faces smaller than this, in pixels."),
    score_threshold: float = typer.Option(DEFAULT_SCORE_THRESHOLD, min=0.0, max=1.0,
                                          help="Minimum YuNet detection score."),
    max_faces: Optional[int] = typer.Option(None, min=1, help="Keep at most this many faces per image."),
    progress: bool = typer.Option(True, help="Show a live progress bar."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say what the engine does."),
) -> None:
    """Bulk photo and video inference (the help shown is BATCH_HELP)."""
    setup_logging(verbose)
    if not verbose:
        import logging

        logging.getLogger("ray").setLevel(logging.WARNING)  # Ray Data logs every stage at INFO
    recognizer: dict[str, Any] = {"model": model, "detector": detector, "min_face_size": min_face_size,
                                  "score_threshold": score_threshold, "max_faces": max_faces}
    if detector_model is not None:
        recognizer["detector_model"] = str(detector_model)
    bar = _Bar(progress)
    with exit_on_error(interrupted="interrupted; the finished batches are kept: run the same command again to go on",
                       os_error=describe_os_error):
        try:
            from facemotion.batch import BatchJob, run_batch

            job = BatchJob(inputs=tuple(inputs), out=out, video=video, recognizer=recognizer, every=every,
                           engine=engine, workers=workers, batch_size=batch_size, recursive=recursive,
                           address=address)
            report = run_batch(job, progress=bar)
        finally:
            bar.close()
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    for path in report.lost:
        typer.echo(f"lost: {path} (its worker died twice; it has an error row)", err=True)
    skipped = f", {report.skipped} already done" if report.skipped else ""
    typer.echo(f"{out}: {report.processed} inputs in {report.seconds:.1f} s ({report.rate:.1f}/s){skipped}, "
               f"{report.failed} with an error", err=True)
    if report.failed:
        raise typer.Exit(1)


app.command("batch", help=BATCH_HELP, no_args_is_help=True)(batch)
