"""``facemotion video``: emotions over time in a recorded file; ``facemotion webcam`` (cli/webcam.py) shares its
options and its run function.

Only typer is imported at module level; NumPy, OpenCV, ONNX Runtime and matplotlib load inside the commands, and
torch never does. Both commands share one option set and one run function, so they write the same CSV, video, plot
and summary.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from facemotion.cli._common import (
    CPU_COUNT,
    MODEL_HELP,
    check_outputs,
    describe_os_error,
    exit_on_error,
    fail,
    setup_logging,
)
from facemotion.cli.app import app
from facemotion.defaults import (
    DEFAULT_IOU_THRESHOLD,
    DEFAULT_MIN_FACE_SIZE,
    DEFAULT_RESCAN,
    DEFAULT_SCORE_THRESHOLD,
    DEFAULT_SMOOTH_WINDOW,
    DEFAULT_TRACK_TIMEOUT,
)
from facemotion.labels import MAX_TOP_K

if TYPE_CHECKING:
    from facemotion.video import VideoSource, VideoSummary

__all__ = ["video", "run_video_command"]

VIDEO_HELP = """Follow every face through a video and tell its emotion over time.

Examples:

  facemotion video interview.mp4 --csv emotions.csv --plot timeline.png

  facemotion video lecture.mp4 --every 5 --start 1:30 --end 12:00 --out annotated.mp4

  facemotion video session.avi --detector haar --model fast --no-smooth --csv - > rows.csv

CSV: one row per processed frame and face (frame, time_s, track, x, y, w, h, detection_score, emotion, """ \
    """confidence, the 7 smoothed probabilities, raw_emotion, the 7 raw probabilities); a frame without a face """ \
    """gets one row.

Exit code: 0 done; 1 the video cannot be read; 2 a bad option or model; 130 interrupted (what was processed """ \
    """is written)."""

# Options shared by both commands (typer reads each from the function's signature, so one object serves both).
_CSV = typer.Option(None, "--csv", help="CSV, one row per processed frame and face; '-' for stdout.")
_OUT = typer.Option(None, "--out", help="Annotated copy of the video (.mp4, .mov, .mkv or .avi).")
_PLOT = typer.Option(None, "--plot", help="Emotion timeline, one panel per face (.png, .svg, .pdf; plot extra).")
_SUMMARY = typer.Option(None, "--summary", help="Also write the summary as JSON to this file.")
_EVERY = typer.Option(1, "--every", min=1, help="Process every Nth frame (the annotated video keeps them all).")
_MODEL = typer.Option("default", help=MODEL_HELP)
_DETECTOR = typer.Option("auto", help="auto (YuNet if installed, else Haar), yunet or haar.")
_DETECTOR_MODEL = typer.Option(None, help="YuNet .onnx file (else $FACEMOTION_YUNET_MODEL, else the cache).")
_MIN_FACE = typer.Option(DEFAULT_MIN_FACE_SIZE, min=1, help="Ignore faces smaller than this, in pixels.")
_SCORE = typer.Option(DEFAULT_SCORE_THRESHOLD, min=0.0, max=1.0, help="Minimum YuNet detection score.")
_MAX_FACES = typer.Option(None, min=1, help="Keep at most this many faces per frame, best first.")
_MARGIN = typer.Option(None, min=0.0, max=1.0, help="Crop margin, fraction of the face box (default: measured).")
_ALIGN = typer.Option(True, help="Rotate faces upright from the eye landmarks (YuNet).")
_SMOOTH = typer.Option(True, "--smooth/--no-smooth", help="Smooth each face's probabilities over time.")
_WINDOW = typer.Option(DEFAULT_SMOOTH_WINDOW, "--smooth-window", min=0.01,
                       help="Smoothing window in seconds (EMA, pandas span).")
_IOU = typer.Option(DEFAULT_IOU_THRESHOLD, "--iou", min=0.01, max=1.0,
                    help="Least box overlap for a face to keep its track id.")
_TIMEOUT = typer.Option(DEFAULT_TRACK_TIMEOUT, "--track-timeout", min=0.0,
                        help="Seconds a lost face keeps its track id.")
_RESCAN = typer.Option(DEFAULT_RESCAN, "--rescan", min=0.0,
                       help="Seconds between whole-frame face searches while faces are tracked; in between only "
                            "around them (faster). 0: every frame whole.")
_TOP_K = typer.Option(1, min=1, max=MAX_TOP_K, help="Emotions listed per face on the annotated video / window (at most "
                                                     "the model's label count).")
_THREADS = typer.Option(1, min=0, max=CPU_COUNT, clamp=True,
                        help="ONNX Runtime threads (0 = its default; at most the CPU count, "
                             f"{CPU_COUNT} here). 1 is fastest for video: frames come one by one, and more threads "
                             "contend with decoding and detection.")
_PROGRESS = typer.Option(True, help="Show a progress bar with the current frames/s (on a terminal).")
_VERBOSE = typer.Option(False, "--verbose", "-v", help="Say which detector runs, and more.")
_EXPLAIN = typer.Option(False, "--explain", help="Blend each face's heatmap (where its emotion was read) into --out "
                        "and the window.")


class _ProgressBar:
    """A rich progress bar on stderr (rich comes with typer): processed frames, the current frames/s (over the last
    two seconds, so a slow stretch shows), and the time left."""

    WINDOW = 2.0

    def __init__(self, total: Optional[int], label: str, enabled: bool) -> None:
        self._bar: Any = None
        self._recent: deque[tuple[float, int]] = deque()
        if not enabled or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[fps]:>6.1f} frames/s"), TimeElapsedColumn(),
                             TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(Path(label).name or label, total=total, fps=0.0)
        self._bar.start()

    def update(self, _result: Any, summary: VideoSummary) -> None:
        if self._bar is None:
            return
        now = time.perf_counter()
        self._recent.append((now, summary.frames))
        while len(self._recent) > 2 and now - self._recent[0][0] > self.WINDOW:
            self._recent.popleft()
        (t0, n0), (t1, n1) = self._recent[0], self._recent[-1]
        fps = (n1 - n0) / (t1 - t0) if t1 > t0 else summary.processing_fps
        self._bar.update(self._task, completed=summary.frames, fps=fps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _summary_lines(summary: VideoSummary, source: VideoSource, every: int) -> list[str]:
    span = ""
    if summary.first_time is not None:
        span = f", {summary.first_time:.1f}-{summary.last_time:.1f} s"
    of = f" of {source.frame_count}" if source.frame_count else ""
    step = f"1 in {every}{of}" if every > 1 else f"every frame{of}"
    tracks = f"{len(summary.tracks)} track" + ("" if len(summary.tracks) == 1 else "s")
    lines = [f"{source.name}: {summary.frames} frames processed ({step}{span}), {summary.frames_with_faces} with a "
             f"face, {summary.faces} faces, {tracks}, {summary.processing_fps:.1f} frames/s"
             + (" (stopped early)" if summary.interrupted else "")]
    main = summary.main_tracks()
    for track in main:
        emotion, mean = track.dominant()
        counts = ", ".join(f"{e} {n}" for e, n in track.labels.most_common(3))
        lines.append(f"  track #{track.track_id}: {track.frames} frames, {track.first_time:.1f}-{track.last_time:.1f}"
                     f" s, mostly {emotion} (mean {mean:.2f}); labels: {counts}")
    short = len(summary.tracks) - len(main)
    if short:
        lines.append(f"  {short} short tracks (under 10 % of the frames: brief or false detections; see the CSV)")
    return lines


def run_video_command(source_arg: str, *, live: bool, headless: bool, start: Optional[str], end: Optional[str],
         duration: Optional[float], csv: Optional[Path], out: Optional[Path], plot: Optional[Path],
         summary: Optional[Path], every: int, smooth: bool, smooth_window: float, iou: float,
         track_timeout: float, rescan: float, top_k: int, progress: bool, verbose: bool, explain: bool = False,
         **recognizer_args: Any) -> None:
    """Everything both commands do: check the options, open the source, run the loop, write and print the results.

    The keyword arguments not named here are the ``Recognizer``'s own (model, detector, margin...).
    """
    summary_path = summary  # the option; ``summary`` below is the run's result
    from facemotion.errors import VideoError

    setup_logging(verbose)
    code = 0
    # a VideoError: the video cannot be read (1); Ctrl-C during setup (the frame loop handles its own)
    with exit_on_error(codes={VideoError: 1}, os_error=describe_os_error):
        import cv2

        from facemotion.inference.recognizer import Recognizer
        from facemotion.video import (
            AnnotatedVideoWriter,
            CsvWriter,
            PreviewWindow,
            VideoAnalyzer,
            VideoSource,
            check_plot_target,
            parse_source,
            parse_timestamp,
            plot_timeline,
            run_video,
        )

        if not verbose:
            # OpenCV's own errors and warnings repeat ours in C++ terms; -v shows them
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)
        if plot is not None:
            check_plot_target(plot)
        outputs = {"--csv": csv, "--out": out, "--plot": plot, "--summary": summary_path}
        source_path = parse_source(source_arg)
        check_outputs(outputs, [source_path] if isinstance(source_path, Path) and source_path.is_file() else [])
        for path in (plot, summary_path):  # fail now rather than after a long run
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        if recognizer_args["detector"] == "none":
            fail("--detector none takes each frame as one face; it makes no sense for video")
        begin = parse_timestamp(start, name="--start") or 0.0
        stop = duration if live else parse_timestamp(end, name="--end")
        recognizer = Recognizer(**recognizer_args)
        check_outputs(outputs, recognizer.files)  # the model and detector files it loaded, wherever they came from
        analyzer = VideoAnalyzer(recognizer, smooth_window=smooth_window if smooth else None, iou_threshold=iou,
                                 track_timeout=track_timeout, rescan=rescan, explain=explain)
        with ExitStack() as stack:
            window = None
            if live and not headless:  # first: without a GUI, say so before opening the camera
                window = PreviewWindow(f"facemotion: {source_arg} (q to stop)", top_k=top_k)
                stack.callback(window.close)
            source = VideoSource(source_arg, start=begin, end=stop)
            stack.callback(source.close)
            to_stdout = (csv is not None and str(csv) == "-") or (live and headless and csv is None)
            writer = None
            if to_stdout or csv is not None:
                writer = CsvWriter(sys.stdout if to_stdout or csv is None else csv, labels=recognizer.labels)
                stack.callback(writer.close)
            annotated = None
            if out is not None:
                annotated = AnnotatedVideoWriter(out, fps=source.fps or 30.0, size=(source.width, source.height),
                                                 top_k=top_k)
                stack.callback(annotated.close)
            bar = _ProgressBar(source.expected_frames(every), source.name, progress and window is None)
            stack.callback(bar.close)
            summary = run_video(source, analyzer, every=every, csv=writer, video=annotated, window=window,
                                on_result=bar.update)
        report = typer.echo if not to_stdout else (lambda line: typer.echo(line, err=True))
        for line in _summary_lines(summary, source, every):
            report(line)
        written = [str(p) for p in (csv if not to_stdout else None, out) if p is not None]
        if plot is not None:
            written.append(str(plot_timeline(summary, plot)))
        if summary_path is not None:
            summary_path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
            written.append(str(summary_path))
        if written:
            report(f"wrote {', '.join(written)}")
        if summary.interrupted and not live:
            code = 130
    if code:
        raise typer.Exit(code)


def video(
    input: str = typer.Argument(..., help="Video file (anything OpenCV/FFmpeg reads: mp4, mov, avi, mkv, webm...)."),
    csv: Optional[Path] = _CSV, out: Optional[Path] = _OUT, plot: Optional[Path] = _PLOT,
    summary: Optional[Path] = _SUMMARY, every: int = _EVERY,
    start: Optional[str] = typer.Option(None, help="Start at this time: seconds (90.5) or [hh:]mm:ss (1:30)."),
    end: Optional[str] = typer.Option(None, help="Stop after this time, same forms as --start."),
    model: str = _MODEL, detector: str = _DETECTOR, detector_model: Optional[Path] = _DETECTOR_MODEL,
    min_face_size: int = _MIN_FACE, score_threshold: float = _SCORE, max_faces: Optional[int] = _MAX_FACES,
    margin: Optional[float] = _MARGIN, align: bool = _ALIGN, smooth: bool = _SMOOTH, smooth_window: float = _WINDOW,
    iou: float = _IOU, track_timeout: float = _TIMEOUT, rescan: float = _RESCAN, top_k: int = _TOP_K,
    threads: int = _THREADS, progress: bool = _PROGRESS, verbose: bool = _VERBOSE, explain: bool = _EXPLAIN,
) -> None:
    """Follow every face through a video and tell its emotion over time (the help shown is VIDEO_HELP)."""
    options = dict(locals())  # first line: every option, passed on to _run by name
    from facemotion.video import parse_source

    if not isinstance(parse_source(input), Path):
        fail(f"{input!r} is a camera or a stream: use `facemotion webcam --camera {input}`")
    run_video_command(options.pop("input"), live=False, headless=True, duration=None, **options)


app.command("video", help=VIDEO_HELP, no_args_is_help=True)(video)
