"""facemotion: recognise the emotion on every face, and train the models that do it.

Importing the package is cheap and torch-free: it does no I/O, downloads nothing and configures nothing.
"""

from __future__ import annotations

from facemotion.errors import DataError, FacemotionError, ImageError, ModelError, VideoError
from facemotion.labels import EMOTIONS

__all__ = ["EMOTIONS", "DataError", "FacemotionError", "ImageError", "ModelError", "VideoError", "__version__"]

__version__ = "0.1.0"
