"""Classifiers that turn ``(N, 48, 48)`` uint8 face crops into ``(N, 7)`` probabilities, whatever runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from facemotion.errors import ModelError
from facemotion.inference.weights import resolve_model
from facemotion.labels import IMAGE_SIZE, NUM_CLASSES

__all__ = ["Classifier", "OnnxClassifier", "TorchClassifier", "load_classifier", "check_crops"]


@runtime_checkable
class Classifier(Protocol):
    """Anything that scores face crops: the ONNX model, a torch checkpoint, a test double."""

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """``(N, 48, 48)`` uint8 grayscale crops -> ``(N, 7)`` float32 probabilities in label order."""
        ...


def check_crops(crops: np.ndarray) -> np.ndarray:
    """Accept ``(N, 48, 48)`` or ``(N, 1, 48, 48)`` crops and return ``(N, 1, 48, 48)`` float32 raw pixels."""
    crops = np.asarray(crops)
    if crops.ndim == 4 and crops.shape[1] == 1:
        crops = crops[:, 0]
    if crops.ndim != 3 or crops.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected face crops of shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), got {crops.shape}")
    return crops.astype(np.float32)[:, None]


class OnnxClassifier:
    """An exported facemotion model in ONNX Runtime; the graph holds normalisation, temperature and softmax."""

    def __init__(self, path: str | Path, *, threads: int = 0) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [1, IMAGE_SIZE, IMAGE_SIZE]:
            raise ModelError(f"{self.path}: expected one input of shape (N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}), "
                             f"got {[i.shape for i in inputs]}")
        if outputs[0].shape[-1] != NUM_CLASSES:
            raise ModelError(f"{self.path}: expected {NUM_CLASSES} outputs, got shape {outputs[0].shape}")
        self._input = inputs[0].name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        batch = check_crops(crops)
        if batch.shape[0] == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        return self.session.run(None, {self._input: batch})[0].astype(np.float32)


class TorchClassifier:
    """A ``.pt`` training checkpoint, run by torch (imported here only): for evaluating before export."""

    def __init__(self, path: str | Path, *, device: str = "cpu", temperature: float = 1.0) -> None:
        import torch

        from facemotion.models import model_from_checkpoint

        self.path = Path(path)
        self.model, self.info = model_from_checkpoint(self.path)
        self.device = torch.device(device)
        self.model.to(self.device)
        self.temperature = temperature

    def logits(self, crops: np.ndarray, batch_size: int = 512) -> np.ndarray:
        import torch

        batch = torch.from_numpy(check_crops(crops))
        outs = []
        with torch.inference_mode():
            for i in range(0, batch.shape[0], batch_size):
                outs.append(self.model(batch[i:i + batch_size].to(self.device)).float().cpu())
        return torch.cat(outs).numpy() if outs else np.zeros((0, NUM_CLASSES), np.float32)

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        logits = self.logits(crops) / self.temperature
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def load_classifier(model: str | Path, *, threads: int = 0) -> Classifier:
    """``default``/``fast``/a ``.onnx`` path -> ONNX Runtime; a ``.pt`` checkpoint -> torch (train extra)."""
    path = resolve_model(model)
    if path.suffix == ".pt":
        try:
            return TorchClassifier(path)
        except ImportError as exc:
            raise ModelError(f"{path}: .pt checkpoints need torch: pip install 'facemotion[train]'") from exc
    return OnnxClassifier(path, threads=threads)
