"""The frame loop behind ``facemotion video`` and ``facemotion webcam``: read, analyse, write, show, summarise.

Kept apart from :class:`~facemotion.video.analyzer.VideoAnalyzer` so the streaming API stays free of files and
windows, and apart from the command line so the loop is tested without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from facemotion.video.analyzer import VideoAnalyzer
from facemotion.video.display import PreviewWindow
from facemotion.video.results import FrameResult
from facemotion.video.sources import VideoSource
from facemotion.video.summary import VideoSummary
from facemotion.video.writers import AnnotatedVideoWriter, CsvWriter

__all__ = ["run_video"]

logger = logging.getLogger(__name__)


def run_video(source: VideoSource, analyzer: VideoAnalyzer, *, every: int = 1, csv: CsvWriter | None = None,
              video: AnnotatedVideoWriter | None = None, window: PreviewWindow | None = None,
              on_result: Callable[[FrameResult, VideoSummary], None] | None = None) -> VideoSummary:
    """Analyse every ``every``-th frame of ``source`` and return the summary; the writers and window are fed as it
    goes and left open (the caller owns and closes them).

    The annotated video and the window get *every* frame, so the video keeps the source's frame count and speed;
    frames between two processed ones are drawn with the latest processed frame's faces.

    Ctrl-C (and q in the window) ends the run like the end of the video, with ``summary.interrupted`` set: what was
    processed until then is in the CSV (flushed per frame), in the annotated video once it is closed, and in the
    summary. Other errors propagate.
    """
    analyzer.reset()
    summary = VideoSummary(source.name, source.fps)
    every_frame = video is not None or window is not None
    started = time.perf_counter()
    last: FrameResult | None = None
    first_index: int | None = None
    try:
        for frame in source.frames(every=1 if every_frame else every):
            if first_index is None:
                first_index = frame.index
            if not every_frame or (frame.index - first_index) % every == 0:
                last = analyzer.process(frame)
                summary.add(last)
                if csv is not None:
                    csv.write(last)
                summary.elapsed = time.perf_counter() - started
                if on_result is not None:
                    on_result(last, summary)
            if video is not None:
                video.write(frame.image, last)
            if window is not None and not window.show(frame.image, last):
                logger.info("stopped from the window")
                summary.interrupted = True
                break
    except KeyboardInterrupt:
        logger.info("interrupted: keeping the %d frames processed so far", summary.frames)
        summary.interrupted = True
    finally:
        source.close()
        summary.elapsed = time.perf_counter() - started
    return summary
