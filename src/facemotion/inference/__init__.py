"""Inference: image loading, classifier backends and the Recognizer. NumPy, OpenCV and ONNX Runtime; never torch
unless a .pt checkpoint is asked for."""

from __future__ import annotations

from facemotion.inference.backends import Classifier, OnnxClassifier, TorchClassifier, load_classifier
from facemotion.inference.weights import PACKAGED_MODELS, resolve_model

__all__ = ["Classifier", "OnnxClassifier", "TorchClassifier", "load_classifier", "PACKAGED_MODELS", "resolve_model"]
