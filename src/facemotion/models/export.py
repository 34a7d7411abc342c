"""Export a trained model to a self-contained ONNX graph: raw 0-255 pixels in, 7 probabilities out.

Normalisation (inside every model), temperature scaling and optional flip test-time augmentation are baked
into the graph, so any ONNX consumer (Python, C++, a browser) gets the same numbers without re-implementing them.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemotion.labels import EMOTIONS, IMAGE_SIZE

__all__ = ["ProbabilityHead", "to_onnx", "INPUT_NAME", "OUTPUT_NAME"]

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"


class ProbabilityHead(nn.Module):
    """Wraps a logits model: divide by the temperature, softmax, and average with the mirrored face if asked."""

    def __init__(self, model: nn.Module, *, temperature: float = 1.0, flip_tta: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.model = model
        self.temperature = float(temperature)
        self.flip_tta = flip_tta

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self.model(pixels) / self.temperature, dim=1)
        if self.flip_tta:
            mirrored = torch.softmax(self.model(torch.flip(pixels, dims=[3])) / self.temperature, dim=1)
            probs = (probs + mirrored) / 2
        return probs


def to_onnx(model: nn.Module, path: str | Path, *, temperature: float = 1.0, flip_tta: bool = False,
            metadata: dict[str, Any] | None = None, opset: int = 17) -> Path:
    """Write ``model`` (a facemotion logits model) as ONNX with a dynamic batch dimension.

    The graph's metadata carries the label names, temperature and TTA, plus ``metadata`` (e.g. the model card).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ProbabilityHead(model.float().eval(), temperature=temperature, flip_tta=flip_tta).eval()
    example = torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(head, (example,), str(path), dynamo=False, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], opset_version=opset,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    _write_metadata(path, {"labels": json.dumps(list(EMOTIONS)), "temperature": str(temperature),
                           "flip_tta": str(flip_tta).lower(), "input": "float32 N x 1 x 48 x 48 raw grayscale 0-255",
                           "output": "float32 N x 7 probabilities in label order",
                           **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}})
    return path


def _write_metadata(path: Path, props: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "facemotion"
    onnx.save(proto, str(path))
