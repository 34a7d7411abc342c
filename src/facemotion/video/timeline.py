"""The emotion timeline: each emotion's probability over time, one panel per tracked face, as a PNG.

matplotlib is imported only when a plot is asked for (it is the ``plot`` extra), through its object API with the Agg
canvas: no pyplot global state, no display needed, safe in threads and on servers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facemotion.errors import FacemotionError
from facemotion.inference.annotate import label_color
from facemotion.labels import EMOTIONS
from facemotion.video.summary import TrackSummary, VideoSummary

__all__ = ["PLOT_SUFFIXES", "plot_timeline", "check_plot_target", "break_gaps"]

MAX_PANELS = 8
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_target(path: Path) -> None:
    """Fail before a long run, not after it: matplotlib must be installed and the suffix one it writes.

    Raises:
        FacemotionError: matplotlib is missing (``pip install 'facemotion[plot]'``) or the suffix is not
            ``.png``, ``.svg`` or ``.pdf``.
    """
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise FacemotionError(f"{path}: the plot must end in {', '.join(PLOT_SUFFIXES)}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FacemotionError("--plot needs matplotlib: pip install 'facemotion[plot]'") from None


def break_gaps(times: np.ndarray, values: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN row wherever consecutive times are more than ``gap`` apart, so lines stop where a face was gone
    instead of joining across its absence."""
    if len(times) < 2:
        return times, values
    cuts = np.flatnonzero(np.diff(times) > gap) + 1
    if not len(cuts):
        return times, values
    times = np.insert(times.astype(np.float64), cuts, np.nan)
    values = np.insert(values.astype(np.float64), cuts, np.nan, axis=0)
    return times, values


def _gap(track: TrackSummary) -> float:
    """How far apart two detections may be and still be drawn joined: three typical processed-frame intervals."""
    if track.frames < 2:
        return float("inf")
    step = float(np.median(np.diff(track.times)))
    return max(3 * step, 1e-6)


def plot_timeline(summary: VideoSummary, path: Path, *, title: str | None = None,
                  max_tracks: int = MAX_PANELS) -> Path:
    """Write the timeline of ``summary``'s longest ``max_tracks`` tracks to ``path`` and return it.

    PNG at 120 dpi, or SVG/PDF by the suffix. Lines break where a face was not seen for more than three processed
    frames, rather than bridging the gap.

    Raises:
        FacemotionError: matplotlib is not installed (``pip install 'facemotion[plot]'``), a bad suffix, or the
            file cannot be written.
    """
    check_plot_target(path)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise FacemotionError("--plot needs matplotlib: pip install 'facemotion[plot]'") from None

    tracks = sorted(summary.tracks.values(), key=lambda t: (-t.frames, t.track_id))[:max_tracks]
    tracks.sort(key=lambda t: t.track_id)
    panels = max(len(tracks), 1)
    figure = Figure(figsize=(11, 1.2 + 2.1 * panels), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    start = summary.first_time or 0.0
    end = summary.last_time if summary.last_time is not None and summary.last_time > start else start + 1.0
    names = tracks[0].label_names if tracks else EMOTIONS
    colors = {e: tuple(c / 255 for c in reversed(label_color(e))) for e in names}  # BGR -> RGB in [0, 1]
    if "neutral" in colors:
        colors["neutral"] = (0.45, 0.45, 0.45)  # the annotation's light gray is invisible on white
    for ax, track in zip(axes, tracks):
        times, values = track.as_arrays()
        times, values = break_gaps(times, values, _gap(track))
        for k, emotion in enumerate(track.label_names):
            ax.plot(times, values[:, k], color=colors[emotion], linewidth=1.4, label=emotion)
        dominant, mean = track.dominant()
        ax.set_title(f"track #{track.track_id}: {track.frames} frames, {track.first_time:.1f}-{track.last_time:.1f}"
                     f" s, mostly {dominant} ({mean:.2f})", fontsize=10, loc="left")
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.grid(alpha=0.3)
    if not tracks:
        axes[0].text(0.5, 0.5, "no face was found", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_ylim(0, 1)
    axes[0].set_xlim(start, end)
    axes[-1].set_xlabel("time (s)")
    if tracks:
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    hidden = len(summary.tracks) - len(tracks)
    heading = title or f"Emotions over time: {Path(summary.source).name or summary.source}"
    if hidden > 0:
        heading += f" ({hidden} shorter tracks not shown)"
    figure.suptitle(heading, fontsize=12)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120, format=path.suffix.lower()[1:])
    except OSError as exc:
        raise FacemotionError(f"{path}: cannot write the plot ({exc.strerror or exc})") from exc
    return path
