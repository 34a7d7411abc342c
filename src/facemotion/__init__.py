"""facemotion: recognise the emotion on every face, and train the models that do it.

Importing the package is cheap and torch-free: it does no I/O, downloads nothing and configures nothing.
``Recognizer`` and the result types are loaded on first use (PEP 562), so ``import facemotion`` does not pull in
OpenCV or ONNX Runtime until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facemotion.errors import DataError, FacemotionError, ImageError, ModelError, VideoError
from facemotion.labels import EMOTIONS

if TYPE_CHECKING:
    from facemotion.inference.recognizer import Recognizer
    from facemotion.types import Box, FaceResult, ImageResult

__all__ = ["EMOTIONS", "Box", "DataError", "FaceResult", "FacemotionError", "ImageError", "ImageResult", "ModelError",
           "Recognizer", "VideoError", "__version__"]

__version__ = "0.1.0"

_LAZY = {
    "Recognizer": "facemotion.inference.recognizer",
    "FaceResult": "facemotion.types",
    "ImageResult": "facemotion.types",
    "Box": "facemotion.types",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'facemotion' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
