"""A live preview window for the webcam, where OpenCV has a GUI and there is a screen to show it on.

``opencv-python-headless`` (facemotion's dependency, so that servers need no X libraries) has no GUI at all, and a
GUI build still needs a display. :func:`display_problem` says which is missing, so the command line can suggest
``--headless`` instead of failing inside OpenCV.
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from facemotion.errors import FacemotionError
from facemotion.video.results import FrameResult
from facemotion.video.writers import annotate_frame

__all__ = ["display_problem", "PreviewWindow"]

_QUIT_KEYS = {ord("q"), ord("Q"), 27}  # q or Esc


def _gui_backend() -> str:
    """The ``GUI:`` line of OpenCV's build information (``NONE`` for the headless wheels)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip()
    return "UNKNOWN"


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    if _gui_backend().upper() == "NONE":
        return ("this OpenCV build has no GUI (opencv-python-headless): use --headless, or install a GUI build "
                "(pip uninstall opencv-python-headless && pip install 'opencv-python<5')")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display to show a window on ($DISPLAY is not set): use --headless"
    return None


class PreviewWindow:
    """Shows annotated frames; :meth:`show` returns False once the user pressed q or Esc or closed the window."""

    def __init__(self, title: str = "facemotion", *, top_k: int = 1) -> None:
        problem = display_problem()
        if problem is not None:
            raise FacemotionError(problem)
        self.title, self.top_k = title, top_k
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        self._open = True

    def show(self, image: np.ndarray, result: FrameResult | None) -> bool:
        """Draw and display one frame; False when the user asked to stop."""
        cv2.imshow(self.title, annotate_frame(image, result, top_k=self.top_k))
        key = cv2.waitKey(1) & 0xFF
        if key in _QUIT_KEYS or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return False
        return True

    def close(self) -> None:
        if self._open:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
            self._open = False
