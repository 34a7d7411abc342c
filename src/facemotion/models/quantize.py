"""Quantise an exported graph to 8-bit integers: about twice the faces/s on a CPU and a quarter of the file.

Static quantisation in ONNX Runtime's QDQ form: the Conv and Gemm weights become int8 per output channel and their
input activations uint8, with ranges measured on a sample of training faces. The result is still one ONNX graph
with the same input, outputs and metadata (plus ``precision: int8``), so every consumer (ONNX Runtime in Python,
the browser) runs it unchanged. Weights use a 7-bit range: CPUs without VNNI instructions sum pairs of uint8 x
int8 products in 16 bits, which can saturate on a full 8-bit range (ONNX Runtime's advice for per-channel graphs).
Needs ``onnx`` (the train extra) besides ONNX Runtime; its own code uses no torch.
"""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from facemotion.defaults import CALIBRATION_FACES
from facemotion.errors import ModelError
from facemotion.labels import IMAGE_SIZE
from facemotion.paths import write_atomic

__all__ = ["quantize_graph", "calibration_sample", "PRECISION_KEY", "CALIBRATION_FACES", "QUANTIZED_OPS"]

PRECISION_KEY = "precision"
QUANTIZED_OPS = ("Conv", "Gemm")
_BATCH = 64
_PREPROCESS_KEYS = ("onnx.infer", "onnx.quant.pre_process")  # what the tool's pre-processing stamps on a graph


def calibration_sample(faces: np.ndarray, count: int = CALIBRATION_FACES, seed: int = 0) -> np.ndarray:
    """``count`` faces drawn without replacement (all of them when there are fewer): a fixed draw, so the same
    data always gives the same graph."""
    if len(faces) == 0:
        raise ModelError("int8 calibration needs at least one face; the training split is empty")
    if len(faces) <= count:
        return faces
    return faces[np.sort(np.random.default_rng(seed).choice(len(faces), count, replace=False))]


def quantize_graph(source: str | Path, out: str | Path, faces: np.ndarray) -> dict[str, Any]:
    """Write ``source`` (a float facemotion graph) to ``out`` as an int8 graph, its activation ranges measured on
    ``faces`` (N x 48 x 48 raw grayscale). ``out`` may be ``source``: it is replaced only once the int8 graph is
    whole. Returns what the model card records of it under ``quantization``."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    source, out = Path(source), Path(out)
    if out.suffix.lower() != ".onnx":
        raise ModelError(f"{out}: the int8 graph must be written to a .onnx file")
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or len(faces) == 0:
        raise ModelError(f"int8 calibration needs N x {IMAGE_SIZE} x {IMAGE_SIZE} faces, got shape {faces.shape}")
    try:
        proto = onnx.load(str(source))
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for a bad file
        raise ModelError(f"{source}: not a readable ONNX file ({exc})") from exc
    mode = stat.S_IMODE(source.stat().st_mode)  # the new file is read as the old one was, not 0600 as staged
    metadata = {p.key: p.value for p in proto.metadata_props}
    if metadata.get(PRECISION_KEY) == "int8":
        raise ModelError(f"{source}: is already an int8 graph; quantise the float graph it came from")
    input_name = proto.graph.input[0].name
    batches = [faces[i:i + _BATCH, None].astype(np.float32) for i in range(0, len(faces), _BATCH)]

    class Faces(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {input_name: batch}

    with tempfile.TemporaryDirectory(prefix="facemotion-int8-") as work:
        prepared, quantized = Path(work) / "prepared.onnx", Path(work) / "int8.onnx"
        try:
            quant_pre_process(str(source), str(prepared))
            quantize_static(str(prepared), str(quantized), Faces(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            reduce_range=True, calibrate_method=CalibrationMethod.MinMax,
                            op_types_to_quantize=list(QUANTIZED_OPS))
            result = onnx.load(str(quantized))
            _restore_node_order(result.graph, [_node_key(node) for node in proto.graph.node])
        except Exception as exc:  # the quantisation tool raises bare Exceptions and onnx errors alike
            raise ModelError(f"{source}: int8 quantisation failed ({exc})") from exc
        del result.metadata_props[:]
        for key, value in {**metadata, PRECISION_KEY: "int8"}.items():
            if key not in _PREPROCESS_KEYS:
                entry = result.metadata_props.add()
                entry.key, entry.value = key, value
        result.producer_name, result.producer_version = proto.producer_name, proto.producer_version
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, result.SerializeToString(), mode=mode)
    return {"precision": "int8", "operators": list(QUANTIZED_OPS),
            "scheme": "ONNX Runtime static QDQ: weights int8 per output channel in a 7-bit range, activations "
                      "uint8 with min-max ranges",
            "calibration_faces": int(len(faces))}


def _node_key(node: Any) -> str:
    """What names a node across quantisation: its first output (tensor names are unique in a graph, and the
    quantiser keeps the original nodes' outputs), else its name; node names may be empty or repeated."""
    return node.output[0] if node.output and node.output[0] else node.name


def _restore_node_order(graph: Any, original: list[str]) -> None:
    """Sort ``graph``'s nodes back into the float graph's order (the quantiser re-sorts them, interleaving an
    ensemble's members and views), each node it added just before the first node that reads its output.

    The int8 graph then reads as the float one does: in its node order too, which
    :func:`facemotion.models.from_onnx.model_from_onnx` still relies on for graphs exported before their metadata
    named the layers' order (``layer_order``), such as the shipped tiers, quantised before that key existed. The
    result is a topological order: a node is placed only once every tensor it reads is.
    """
    import heapq

    nodes = list(graph.node)
    rank = {key: i for i, key in enumerate(original) if key}
    readers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            if name:  # an omitted optional input
                readers.setdefault(name, []).append(i)
    priority: dict[int, float] = {}

    def priority_of(i: int) -> float:
        if _node_key(nodes[i]) in rank:
            return rank[_node_key(nodes[i])]
        if i not in priority:  # an added node: just before its first reader (added chains are short: Q -> DQ)
            priority[i] = float(len(original))  # a cycle guard; a graph from the quantiser has none
            later = [priority_of(j) for out in nodes[i].output for j in readers.get(out, [])]
            priority[i] = min(later, default=len(original)) - 0.5
        return priority[i]

    produced = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    waiting = [sum(1 for name in node.input if name and name in produced) for node in nodes]
    ready = [(priority_of(i), i) for i in range(len(nodes)) if waiting[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for out in nodes[i].output:
            for j in readers.get(out, []):
                waiting[j] -= 1
                if waiting[j] == 0:
                    heapq.heappush(ready, (priority_of(j), j))
    if len(order) != len(nodes):
        raise ValueError("the quantised graph has a cycle; it cannot be ordered")
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)
