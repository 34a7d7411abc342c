"""Emotions over time: frames from files, cameras and streams; face tracks; smoothing; CSV, video and plot output.

A thin layer over :class:`~facemotion.inference.recognizer.Recognizer`: it imports ``inference``, never the reverse,
and never torch. matplotlib is imported only by :func:`plot_timeline`.
"""

from __future__ import annotations

from facemotion.video.analyzer import DEFAULT_RESCAN, VideoAnalyzer
from facemotion.video.display import PreviewWindow, display_problem
from facemotion.video.pipeline import run_video
from facemotion.video.regions import RegionDetector
from facemotion.video.results import FrameResult, TrackedFace
from facemotion.video.smoothing import DEFAULT_SMOOTH_WINDOW, EmaSmoother
from facemotion.video.sources import Frame, SourceLike, VideoSource, parse_source, parse_timestamp
from facemotion.video.summary import TrackSummary, VideoSummary
from facemotion.video.timeline import check_plot_target, plot_timeline
from facemotion.video.tracking import DEFAULT_IOU_THRESHOLD, DEFAULT_TRACK_TIMEOUT, IouTracker, iou
from facemotion.video.writers import CSV_COLUMNS, AnnotatedVideoWriter, CsvWriter

__all__ = ["VideoAnalyzer", "VideoSource", "Frame", "SourceLike", "FrameResult", "TrackedFace", "IouTracker", "iou",
           "EmaSmoother", "VideoSummary", "TrackSummary", "CsvWriter", "AnnotatedVideoWriter", "CSV_COLUMNS",
           "PreviewWindow", "display_problem", "plot_timeline", "check_plot_target", "run_video", "parse_source",
           "parse_timestamp", "RegionDetector", "DEFAULT_SMOOTH_WINDOW", "DEFAULT_IOU_THRESHOLD",
           "DEFAULT_TRACK_TIMEOUT", "DEFAULT_RESCAN"]
