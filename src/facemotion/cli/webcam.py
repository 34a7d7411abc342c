"""``facemotion webcam``: live emotions from a camera or stream, with ``facemotion video``'s options, run function
and outputs (see :mod:`facemotion.cli.video`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from facemotion.cli.app import app
from facemotion.cli.video import (  # the options and the run function are video's
    _ALIGN,
    _CSV,
    _DETECTOR,
    _DETECTOR_MODEL,
    _EVERY,
    _EXPLAIN,
    _IOU,
    _MARGIN,
    _MAX_FACES,
    _MIN_FACE,
    _MODEL,
    _OUT,
    _PLOT,
    _PROGRESS,
    _RESCAN,
    _SCORE,
    _SMOOTH,
    _SUMMARY,
    _THREADS,
    _TIMEOUT,
    _TOP_K,
    _VERBOSE,
    _WINDOW,
    run_video_command,
)

__all__ = ["webcam"]

WEBCAM_HELP = """Live emotions from a camera or stream: an annotated window, or --headless data.

Examples:

  facemotion webcam          # camera 0 in a window; q stops

  facemotion webcam --camera 1 --csv live.csv --out live.mp4

  facemotion webcam --headless --camera rtsp://host/stream --duration 60 --plot timeline.png

--headless writes the CSV rows to stdout unless --csv is given. q, Esc or Ctrl-C stops cleanly: the CSV """ \
    """(flushed every frame), video, plot and summary keep what was recorded.

Exit code: 0 done or stopped; 1 the camera or stream cannot be opened; 2 a bad option or model."""


def webcam(
    camera: str = typer.Option("0", help="Camera index (0, 1...), a stream URL (rtsp://, http://) or a file."),
    headless: bool = typer.Option(False, "--headless", help="No window: CSV rows to stdout (or --csv), and files."),
    duration: Optional[float] = typer.Option(None, min=0.1, help="Stop after this many seconds."),
    csv: Optional[Path] = _CSV, out: Optional[Path] = _OUT, plot: Optional[Path] = _PLOT,
    summary: Optional[Path] = _SUMMARY, every: int = _EVERY,
    model: str = _MODEL, detector: str = _DETECTOR, detector_model: Optional[Path] = _DETECTOR_MODEL,
    min_face_size: int = _MIN_FACE, score_threshold: float = _SCORE, max_faces: Optional[int] = _MAX_FACES,
    margin: Optional[float] = _MARGIN, align: bool = _ALIGN, smooth: bool = _SMOOTH, smooth_window: float = _WINDOW,
    iou: float = _IOU, track_timeout: float = _TIMEOUT, rescan: float = _RESCAN, top_k: int = _TOP_K,
    threads: int = _THREADS, progress: bool = _PROGRESS, verbose: bool = _VERBOSE, explain: bool = _EXPLAIN,
) -> None:
    """Live emotions from a camera or stream (the help shown is WEBCAM_HELP)."""
    options = dict(locals())
    run_video_command(options.pop("camera"), live=True, start=None, end=None, **options)


app.command("webcam", help=WEBCAM_HELP)(webcam)
