"""Export a trained model to a self-contained ONNX graph: raw 0-255 pixels in, 7 probabilities out.

Normalisation (inside every model), temperature scaling and optional test-time views (mirror, zooms) are baked
into the graph, so any ONNX consumer (Python, C++, a browser) gets the same numbers without re-implementing them.
A model with a pooled linear head also gets a second output, ``heatmaps``: its class activation maps
(:mod:`facemotion.models.cam`). ONNX Runtime computes an output only when it is requested, so a caller that asks
for ``probabilities`` alone pays nothing for it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemotion.errors import ModelError
from facemotion.labels import EMOTIONS, IMAGE_SIZE
from facemotion.models.cam import logits_and_maps, supports_cam
from facemotion.models.tta import TTAViews, views_metadata

__all__ = ["ProbabilityHead", "to_onnx", "write_metadata", "check_onnx_path", "layer_order", "structure_metadata",
           "INPUT_NAME", "OUTPUT_NAME", "HEATMAP_NAME", "HEATMAP_DOC", "LAYER_ORDER_KEY"]

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
HEATMAP_NAME = "heatmaps"
LAYER_ORDER_KEY = "layer_order"
HEATMAP_DOC = ("float32 N x K x h x w class activation maps in logit units (before the temperature): the spatial "
               "mean of map k is label k's logit; row 0 is the top of the 48x48 crop")


class ProbabilityHead(nn.Module):
    """Wraps a logits model: divide by the temperature, softmax, and average over the test-time views asked for.

    The views (:class:`~facemotion.models.tta.TTAViews`) are the face, its mirror with ``flip_tta``, and each
    centred zoom of ``zooms`` (and its mirror, with ``flip_tta``). With ``heatmaps``, it also returns the class
    activation maps of the unzoomed views, from the same passes over the features (the mirrored face's maps flipped
    back and averaged in); zoomed views add to the probabilities only, as their maps would not line up with the face.
    """

    def __init__(self, model: nn.Module, *, temperature: float = 1.0, flip_tta: bool = False,
                 zooms: Sequence[float] = (), heatmaps: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.model = model
        self.temperature = float(temperature)
        self.views = TTAViews(flip=flip_tta, zooms=zooms)
        self.heatmaps = heatmaps

    def forward(self, pixels: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        views = self.views(pixels)
        if not self.heatmaps:
            return _mean([self._probabilities(self.model(view)) for view in views])
        mapped = 2 if self.views.flip else 1
        logits, maps = logits_and_maps(self.model, views[0])
        probs = [self._probabilities(logits)]
        if self.views.flip:
            logits_m, maps_m = logits_and_maps(self.model, views[1])
            probs.append(self._probabilities(logits_m))
            maps = (maps + torch.flip(maps_m, dims=[3])) / 2
        probs += [self._probabilities(self.model(view)) for view in views[mapped:]]
        return _mean(probs), maps

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits / self.temperature, dim=1)


def _mean(probabilities: list[torch.Tensor]) -> torch.Tensor:
    return probabilities[0] if len(probabilities) == 1 else torch.stack(probabilities).mean(dim=0)


def check_onnx_path(out: str | Path) -> Path:
    """``out`` as a Path, or ModelError unless it ends in ``.onnx``: checked before anything is written.

    The model card goes to ``out.with_suffix(".json")``, so ``model.json`` would be both; and ``onnx.load`` reads a
    ``.json`` name as JSON text (a UnicodeDecodeError on the graph's bytes).
    """
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise ModelError(f"{out}: the exported model must end in .onnx (its model card is written beside it as "
                         f"{out.with_suffix('.json').name})")
    return out


def to_onnx(model: nn.Module, path: str | Path, *, temperature: float = 1.0, flip_tta: bool = False,
            zooms: Sequence[float] = (), metadata: dict[str, Any] | None = None, opset: int = 17,
            heatmaps: bool | None = None, labels: Sequence[str] = EMOTIONS) -> Path:
    """Write ``model`` (a facemotion logits model) as ONNX with a dynamic batch dimension.

    The graph's metadata carries the label names (``labels``, in output order: what every consumer shows),
    temperature and test-time views (``flip_tta``, ``tta_zooms``), plus ``metadata`` (e.g. the architecture), and
    the order in which the model runs its layers (``layer_order``, see :func:`layer_order`).
    ``heatmaps`` adds the ``heatmaps`` output; None adds it whenever the model has a pooled linear head.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    heatmaps = supports_cam(model) if heatmaps is None else heatmaps
    head = ProbabilityHead(model.float().eval(), temperature=temperature, flip_tta=flip_tta, zooms=zooms,
                           heatmaps=heatmaps).eval()
    example = torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE) * 255
    outputs = [OUTPUT_NAME, HEATMAP_NAME] if heatmaps else [OUTPUT_NAME]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(head, (example,), str(path), dynamo=False, input_names=[INPUT_NAME],
                          output_names=outputs, opset_version=opset,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in outputs}})
    write_metadata(path, {"labels": json.dumps(list(labels)), "temperature": str(temperature),
                           **views_metadata(flip_tta, zooms),
                           "input": f"float32 N x 1 x {IMAGE_SIZE} x {IMAGE_SIZE} raw grayscale 0-255",
                           "output": f"float32 N x {len(labels)} probabilities in label order",
                           **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()},
                           LAYER_ORDER_KEY: json.dumps(layer_order(path))})
    return path


def structure_metadata(networks: Sequence[dict[str, Any]], *, ensemble: bool) -> dict[str, str]:
    """The metadata that lets a reader rebuild the graph's networks without its card
    (:func:`facemotion.models.from_onnx.network_structure` reads it back): an ensemble's ``members``, each one's
    architecture and arguments, or one network's ``architecture_kwargs``."""
    described = [{"architecture": n["architecture"], "architecture_kwargs": dict(n.get("architecture_kwargs", {}))}
                 for n in networks]
    if ensemble:
        return {"members": json.dumps(described)}
    return {"architecture_kwargs": json.dumps(described[0]["architecture_kwargs"])}


def layer_order(path: Path) -> list[str]:
    """The first output of each Conv and Gemm node, in the order the exporter wrote them: the order the model runs
    its layers, member by member in an ensemble.

    Recorded in the graph's metadata so that a reader (:func:`facemotion.models.from_onnx.model_from_onnx`) pairs
    weights with layers by name, not by node position, which tools that rewrite graphs (the int8 quantiser) change.
    Tensor names are unique in a graph and those tools keep the outputs of the nodes they keep.
    """
    import onnx

    return [node.output[0] for node in onnx.load(str(path)).graph.node if node.op_type in ("Conv", "Gemm")]


def write_metadata(path: Path, props: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "facemotion"
    for output in proto.graph.output:
        if output.name == HEATMAP_NAME:
            output.doc_string = HEATMAP_DOC
    onnx.save(proto, str(path))
