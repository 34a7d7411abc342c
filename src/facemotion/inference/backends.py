"""Classifiers that turn ``(N, 48, 48)`` uint8 face crops into ``(N, K)`` probabilities, whatever runs them.

Each carries its label names (``labels``), read from the model itself: the ONNX metadata or the checkpoint's
training settings, FER2013's seven for a model that names none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from facemotion.cpus import usable_cpus
from facemotion.errors import ModelError, NoHeatmapsError
from facemotion.inference.weights import resolve_model
from facemotion.labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES, declared_labels

__all__ = ["Classifier", "ExplainingClassifier", "OnnxClassifier", "TorchClassifier", "load_classifier",
           "check_crops", "classifier_labels", "labels_from_metadata", "softmax", "HEATMAP_OUTPUT"]

HEATMAP_OUTPUT = "heatmaps"
"""The graph output holding the class activation maps (see :mod:`facemotion.models.export`)."""


@runtime_checkable
class Classifier(Protocol):
    """Anything that scores face crops: the ONNX model, a torch checkpoint, a test double."""

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """``(N, 48, 48)`` uint8 grayscale crops -> ``(N, K)`` float32 probabilities in label order."""
        ...


def classifier_labels(classifier: object) -> tuple[str, ...]:
    """The label names of any classifier: its ``labels`` attribute, else FER2013's seven (a test double)."""
    labels = getattr(classifier, "labels", None)
    return EMOTIONS if labels is None else tuple(labels)


def labels_from_metadata(metadata: Mapping[str, str], num_outputs: object, source: str | Path) -> tuple[str, ...]:
    """The graph's ``labels`` metadata (a JSON list), checked against its output width; FER2013's seven when the
    graph names none and has seven outputs (models exported before labels travelled)."""
    text = metadata.get("labels")
    width = num_outputs if isinstance(num_outputs, int) and not isinstance(num_outputs, bool) else None
    try:
        names = None if text is None else json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError
        raise ModelError(f"{source}: metadata 'labels' must be a JSON list of two or more names ({exc})") from exc
    return declared_labels(names, width, source=f"{source}: metadata 'labels'")


@runtime_checkable
class ExplainingClassifier(Classifier, Protocol):
    """A classifier that can also say where on each crop every label's evidence lies."""

    def explain(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 48, 48)`` crops -> ``(N, K)`` probabilities and ``(N, K, h, w)`` class activation maps (logits)."""
        ...


def _labels_of_checkpoint(info: Mapping[str, object], num_classes: int, source: Path) -> tuple[str, ...]:
    config = info.get("config")
    return declared_labels(config.get("labels") if isinstance(config, Mapping) else None, num_classes,
                           source=f"{source}: config labels")


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
            options.intra_op_num_threads = min(threads, usable_cpus())
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [1, IMAGE_SIZE, IMAGE_SIZE]:
            raise ModelError(f"{self.path}: expected one input of shape (N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}), "
                             f"got {[i.shape for i in inputs]}")
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        shape = outputs[0].shape
        self.labels = labels_from_metadata(self.metadata, shape[-1] if len(shape) == 2 else None, self.path)
        if len(shape) != 2:
            raise ModelError(f"{self.path}: expected an output of shape (N, {len(self.labels)}), got {shape}")
        if inputs[0].type != "tensor(float)" or outputs[0].type not in ("tensor(float)", "tensor(double)"):
            raise ModelError(f"{self.path}: expected float32 pixels in and probabilities out, got "
                             f"{inputs[0].type} in and {outputs[0].type} out")
        if isinstance(inputs[0].shape[0], int) or isinstance(shape[0], int):
            raise ModelError(f"{self.path}: its batch size is fixed ({inputs[0].shape[0]} in, {shape[0]} out); "
                             f"export it with a dynamic batch axis")
        self._input, self._output = inputs[0].name, outputs[0].name
        self.has_heatmaps = any(o.name == HEATMAP_OUTPUT for o in outputs)

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        batch = check_crops(crops)
        if batch.shape[0] == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        # Naming the output lets ONNX Runtime skip the heatmap branch.
        return self._run([self._output], batch)[0].astype(np.float32)

    def _run(self, names: list[str], batch: np.ndarray) -> list[np.ndarray]:
        """The graph's outputs ``names`` for ``batch``; a failure inside ONNX Runtime is a ModelError naming the
        file (a graph can load and still fail on its first real input)."""
        try:
            return self.session.run(names, {self._input: batch})
        except Exception as exc:  # onnxruntime's own exception types
            lines = str(exc).strip().splitlines()
            raise ModelError(f"{self.path}: inference failed ({lines[0][:200] if lines else type(exc).__name__})") \
                from exc

    def explain(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and class activation maps from one run of the graph."""
        if not self.has_heatmaps:
            raise NoHeatmapsError(f"{self.path} was exported before heatmaps existed (it has no {HEATMAP_OUTPUT!r} "
                                  f"output); re-export it: facemotion export --model {self.path} --out NEW.onnx "
                                  f"(keeps its metadata and model card; needs the train extra)")
        batch = check_crops(crops)
        if batch.shape[0] == 0:
            k = len(self.labels)
            return np.zeros((0, k), np.float32), np.zeros((0, k, 1, 1), np.float32)
        probs, maps = self._run([self._output, HEATMAP_OUTPUT], batch)
        return probs.astype(np.float32), maps.astype(np.float32)


class TorchClassifier:
    """A ``.pt`` training checkpoint, run by torch (imported here only): for evaluating before export."""

    def __init__(self, path: str | Path, *, device: str = "cpu", temperature: float = 1.0) -> None:
        import torch

        from facemotion.models import model_from_checkpoint

        self.path = Path(path)
        self.model, self.info = model_from_checkpoint(self.path)
        self.labels = _labels_of_checkpoint(self.info, int(getattr(self.model, "num_classes", NUM_CLASSES)), self.path)
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
        return torch.cat(outs).numpy() if outs else np.zeros((0, len(self.labels)), np.float32)

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        return softmax(self.logits(crops) / self.temperature).astype(np.float32)

    def explain(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and class activation maps; a model without a pooled linear head raises NoHeatmapsError."""
        import torch

        from facemotion.models.cam import logits_and_maps

        with torch.inference_mode():
            logits, maps = logits_and_maps(self.model, torch.from_numpy(check_crops(crops)).to(self.device))
        probabilities = softmax(logits.float().cpu().numpy() / self.temperature).astype(np.float32)
        return probabilities, maps.float().cpu().numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` logits, shifted by each row's maximum so large logits cannot overflow; the
    dtype is kept (the calibration fit works in float64, the classifiers return float32)."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def load_classifier(model: str | Path, *, threads: int = 0) -> Classifier:
    """``default``/``fast``/a ``.onnx`` path -> ONNX Runtime; a ``.pt`` checkpoint -> torch (train extra)."""
    path = resolve_model(model)
    if path.suffix == ".pt":
        try:
            return TorchClassifier(path)
        except ImportError as exc:
            raise ModelError(f"{path}: .pt checkpoints need torch: pip install 'facemotion[train]'") from exc
    return OnnxClassifier(path, threads=threads)
