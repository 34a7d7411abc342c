"""The defaults every entry point shares (the Python API, the CLI, the service, batch jobs and the browser page):
one home for each, in a module light enough for ``facemotion --help`` (no OpenCV, no NumPy)."""

from __future__ import annotations

__all__ = ["DETECTORS", "DEFAULT_MIN_FACE_SIZE", "DEFAULT_SCORE_THRESHOLD", "DEFAULT_MAX_PIXELS",
           "DEFAULT_SMOOTH_WINDOW", "DEFAULT_IOU_THRESHOLD", "DEFAULT_TRACK_TIMEOUT", "DEFAULT_RESCAN", "FACE_MODES",
           "DEFAULT_VAL_FRACTION", "DEFAULT_TEST_FRACTION", "TTA_MODES", "CALIBRATION_FACES"]

DETECTORS: tuple[str, ...] = ("auto", "yunet", "haar", "none")
"""The face detectors by name: ``auto`` (YuNet when its model file is found, else Haar), ``yunet``, ``haar``, and
``none`` (the whole image is the face)."""

DEFAULT_MIN_FACE_SIZE = 20
"""Pixels; smaller faces hold too little detail for a 48x48 classifier to read an expression."""

DEFAULT_SCORE_THRESHOLD = 0.6
"""YuNet score below which a detection is dropped. OpenCV's demo uses 0.9, which misses the small grayscale faces of
an old group photo (they score 0.85-0.91); 0.6 keeps them and still finds nothing in the no-face test photo."""

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb limit (about 89 megapixels, e.g. 10,000 x 8,900): every camera photo up to
~89 MP passes, while a small file that claims to decode to gigabytes is refused before any pixel is decoded."""

DEFAULT_SMOOTH_WINDOW = 0.5
"""Seconds. Facial expressions take about half a second to form; shorter windows let single-frame misreadings
through, longer ones blur real changes."""

DEFAULT_IOU_THRESHOLD = 0.3
"""Faces move little between frames; 0.3 keeps a face through a head turn and still tells neighbours apart."""

DEFAULT_TRACK_TIMEOUT = 1.0
"""Seconds a track survives without a detection: a blink-length miss or a hand in front of the face."""

DEFAULT_RESCAN = 0.5
"""Seconds between whole-frame scans while faces are tracked; in between, only the regions around the tracked faces
are searched. A person who walks in is found within half a second; see :mod:`facemotion.video.regions`."""

FACE_MODES: tuple[str, ...] = ("given", "detect")
"""How your own training images are read: ``given`` (each image is a face crop) or ``detect`` (find and align the
face as ``predict`` does); the first is the default."""

DEFAULT_VAL_FRACTION = 0.1
"""The share of your own labelled images without a split drawn for validation (stratified, seeded)."""

DEFAULT_TEST_FRACTION = 0.0
"""... and for test: none unless asked, since a small data set needs its images for training and selection."""

TTA_MODES: tuple[str, ...] = ("none", "flip", "tencrop")
"""Test-time augmentation outside the model (``facemotion evaluate --tta``): none, the mirror, or ten crops."""

CALIBRATION_FACES = 1024
"""Training faces whose activations set an int8 graph's ranges (``facemotion export --int8``)."""
