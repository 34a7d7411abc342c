"""Shared fixtures: the ../shared folder beside the repo, and small synthetic FER2013 files the tests make."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FER_CSV = SHARED / "data" / "fer2013" / "fer2013.csv.gz"
FER_FOLDERS = SHARED / "data" / "fer2013"
MEDIA = SHARED / "media"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder; integration tests skip, saying why, when it is missing."""
    if not SHARED.is_dir():
        pytest.skip(f"integration test: {SHARED} is missing")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own empty cache dir, except the shared-data cache, kept per session for speed."""
    monkeypatch.setenv("FACEMOTION_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def synthetic_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 48x48 images whose label is written into their brightness pattern (learnable), labels 0-6."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 7
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 48, 48), dtype=np.int64)
    for i, label in enumerate(labels):
        images[i, :, label * 6:label * 6 + 6] += 190
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.int64)


def write_fer_csv(path: Path, images: np.ndarray, labels: np.ndarray, usages: list[str]) -> Path:
    """A FER2013-layout CSV (gzipped when the name ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for image, label, usage in zip(images, labels, usages):
            writer.writerow([int(label), " ".join(map(str, image.reshape(-1))), usage])
    return path


def default_usages(n_train: int, n_val: int, n_test: int) -> list[str]:
    return ["Training"] * n_train + ["PublicTest"] * n_val + ["PrivateTest"] * n_test


def write_fer_folders(root: Path, images: np.ndarray, labels: np.ndarray, usages: list[str]) -> Path:
    """The image-folder form of the same images (PNG, so pixels survive exactly)."""
    from facemotion.labels import EMOTIONS

    for i, (image, label, usage) in enumerate(zip(images, labels, usages)):
        top = "train" if usage == "Training" else "test"
        folder = root / top / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{usage}_{i:05d}.png"), image)
    return root


YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """../shared/media (justin.jpg, no-faces.jpg, solvay_conference.jpg); skips when missing."""
    if not MEDIA.is_dir():
        pytest.skip(f"integration test: {MEDIA} is missing")
    return MEDIA


@pytest.fixture(scope="session")
def yunet_path() -> Path:
    """The shared YuNet detector model; skips when missing."""
    if not YUNET.is_file():
        pytest.skip(f"integration test: {YUNET} is missing")
    return YUNET


def write_brightness_classifier(path: Path, labels: Sequence[str] | None = None) -> Path:
    """A tiny real ONNX classifier with the packaged models' contract (N x 1 x 48 x 48 raw pixels -> N x K
    probabilities) whose answer follows mean brightness: dark crops -> the first label, bright -> the last. With
    ``labels``, K is their count and they go into the graph's ``labels`` metadata (a model trained on other data);
    without, K = 7 and the graph names none, like the FER2013 models of before."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    count = len(labels) if labels is not None else 7
    k = np.arange(count, dtype=np.float32) - (count - 1) / 2
    weights = numpy_helper.from_array((k * 20.0 / 255.0).reshape(1, count), "w")
    bias = numpy_helper.from_array(-10.0 * k, "b")
    nodes = [helper.make_node("ReduceMean", ["crops"], ["mean"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Unsqueeze", ["mean", "one"], ["mean2"]),
             helper.make_node("MatMul", ["mean2", "w"], ["scaled"]),
             helper.make_node("Add", ["scaled", "b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(
        nodes, "brightness", [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["N", 1, 48, 48])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", count])],
        initializer=[weights, bias, numpy_helper.from_array(np.array([1], np.int64), "one")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if labels is not None:
        helper.set_model_props(model, {"labels": json.dumps(list(labels))})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_explaining_classifier(path: Path) -> Path:
    """The brightness classifier with a ``heatmaps`` output, torch-free: its class activation maps are each 8x8
    block's mean brightness times the label's weight plus its bias, so a map's mean is the logit, as in the real
    models, and bright regions are hot for ``neutral``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    k = np.arange(7, dtype=np.float32) - 3.0
    weights = numpy_helper.from_array((k * 20.0 / 255.0).reshape(1, 7, 1, 1), "w")
    bias = numpy_helper.from_array((-10.0 * k).reshape(1, 7, 1, 1), "b")
    nodes = [helper.make_node("AveragePool", ["pixels"], ["blocks"], kernel_shape=[8, 8], strides=[8, 8]),
             helper.make_node("Mul", ["blocks", "w"], ["scaled"]),
             helper.make_node("Add", ["scaled", "b"], ["heatmaps"]),
             helper.make_node("ReduceMean", ["heatmaps"], ["logits"], axes=[2, 3], keepdims=0),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(
        nodes, "explaining", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 1, 48, 48])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 7]),
         helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, ["N", 7, 6, 6])],
        initializer=[weights, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def explaining_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the tiny brightness classifier with heatmaps (see :func:`write_explaining_classifier`)."""
    return write_explaining_classifier(tmp_path_factory.mktemp("models") / "explaining.onnx")


@pytest.fixture(scope="session")
def brightness_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the tiny brightness classifier (see :func:`write_brightness_classifier`)."""
    return write_brightness_classifier(tmp_path_factory.mktemp("models") / "brightness.onnx")
