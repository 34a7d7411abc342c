"""Rebuild the torch model inside an exported facemotion graph, for models whose checkpoint is gone.

The graph names its architecture in its metadata (an ensemble its members too; graphs exported before that was
recorded, in the model card beside them); its weights are the Conv and Gemm initializers in execution order, which
the metadata's ``layer_order`` names (older graphs: the nodes' order), and an int8 graph's are dequantized: within
half a quantisation step of the float weights. The exporter folded every BatchNorm into the conv before it, so
each BatchNorm is set to the identity plus the folded bias: exact in eval mode. The result serves re-exporting old
graphs (with heatmaps) and fine-tuning from a shipped model.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from facemotion.cards import card_path, card_text, read_card
from facemotion.errors import ModelError
from facemotion.labels import IMAGE_SIZE, declared_labels
from facemotion.models.ensemble import LogitEnsemble
from facemotion.models.quantize import PRECISION_KEY
from facemotion.models.registry import create_model
from facemotion.models.tta import views_from_metadata, views_metadata

__all__ = ["read_graph_metadata", "model_from_onnx", "network_structure", "card_members", "graph_views",
           "reexport_onnx"]

_Slot = tuple[nn.Module, "nn.BatchNorm2d | None"]


def read_graph_metadata(path: str | Path) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """The ONNX proto, its metadata and the model card beside it (``x.onnx`` -> ``x.json``; ``{}`` if absent)."""
    import onnx

    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for a bad file
        raise ModelError(f"{path}: not a readable ONNX file ({exc})") from exc
    card = read_card(card_path(path)) if card_path(path).is_file() else {}
    return proto, {p.key: p.value for p in proto.metadata_props}, card


def _architecture(path: Path, metadata: dict[str, str], card: dict[str, Any]) -> nn.Module:
    labels = _labels(path, metadata, card)
    extra = {"num_classes": len(labels)} if labels else {}
    nets = []
    for i, net in enumerate(network_structure(path, metadata, card)):
        try:
            nets.append(create_model(net["architecture"], **{**extra, **net["architecture_kwargs"]}))
        except (ModelError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: network {i} ({net['architecture']} with {net['architecture_kwargs']}) cannot "
                             f"be built: {exc}") from exc
    return LogitEnsemble(nets) if _is_ensemble(metadata, card) else nets[0]


def _is_ensemble(metadata: dict[str, str], card: dict[str, Any]) -> bool:
    return (metadata.get("architecture") or card.get("architecture")) == "ensemble"


def network_structure(path: Path, metadata: dict[str, str], card: dict[str, Any]) -> list[dict[str, Any]]:
    """Each network of the graph (an ensemble's members in order, else the one), as ``{"architecture",
    "architecture_kwargs"}``: what :func:`model_from_onnx` builds.

    Read from the graph's metadata (``members``, ``architecture_kwargs``: :func:`~facemotion.models.export.
    structure_metadata`), else, for graphs exported before it recorded them, from the model card beside it. Callers
    that describe the rebuilt networks (``--init``, ``FILE.onnx[K]``) take it from here so that their description is
    the structure that was built.
    """
    name = metadata.get("architecture") or card.get("architecture")
    if not name:
        raise ModelError(f"{path}: the graph names no architecture (metadata 'architecture'), so it cannot be rebuilt")
    if name == "ensemble":
        members = _json_metadata(path, metadata, "members", list)
        where = "metadata 'members'"
        if members == []:
            raise ModelError(f"{path}: metadata 'members' lists no networks")
        if members is None:
            members, where = card.get("members"), f"the model card's members ({path.with_suffix('.json').name})"
        if not members:
            raise ModelError(f"{path}: an ensemble is rebuilt from the members its metadata lists ('members'), or "
                             f"for an older graph its model card {path.with_suffix('.json')}: neither lists any")
        return [_network(path, member, f"{where}, entry {i}") for i, member in enumerate(members)]
    kwargs = _json_metadata(path, metadata, "architecture_kwargs", dict)
    where = "metadata 'architecture_kwargs'"
    if kwargs is None:
        kwargs, where = card.get("architecture_kwargs", {}), "the model card's architecture_kwargs"
    return [_network(path, {"architecture": name, "architecture_kwargs": kwargs}, where)]


def card_members(path: Path, structure: list[dict[str, Any]], card: dict[str, Any], *,
                 ensemble: bool) -> list[dict[str, Any]]:
    """The model card's record of each network in ``structure`` (:func:`network_structure`): an ensemble's
    ``members``, or the card itself for one network; ``[]`` when the card records none.

    The records carry what the graph cannot: each network's training data, command and PublicTest accuracy. They are
    paired with the networks by position, so a card that describes other networks (another count, another
    architecture) is refused rather than lending them its records.
    """
    records = card.get("members") if ensemble else [card] if card else []
    if not records:
        return []
    if not isinstance(records, list) or len(records) != len(structure):
        raise ModelError(f"{path}: its model card describes {len(records) if isinstance(records, list) else 0} "
                         f"networks but the graph holds {len(structure)}; the card belongs to another graph")
    for i, (record, net) in enumerate(zip(records, structure)):
        recorded = record.get("architecture") if isinstance(record, dict) else None
        if recorded is not None and recorded != net["architecture"]:
            raise ModelError(f"{path}: network {i} is a {net['architecture']} in the graph but a {recorded} in its "
                             f"model card; the card belongs to another graph")
    return records


def _network(path: Path, entry: Any, where: str) -> dict[str, Any]:
    """One network's ``{"architecture", "architecture_kwargs"}``, checked, else a ModelError naming where it is."""
    kwargs = entry.get("architecture_kwargs", {}) if isinstance(entry, dict) else None
    if not (isinstance(entry, dict) and isinstance(entry.get("architecture"), str) and isinstance(kwargs, dict)):
        raise ModelError(f"{path}: {where} must be an object with a string 'architecture' and an object "
                         f"'architecture_kwargs', got {entry!r:.80}")
    return {"architecture": entry["architecture"], "architecture_kwargs": kwargs}


def _json_metadata(path: Path, metadata: dict[str, str], key: str, kind: type) -> Any:
    """Metadata ``key`` read as JSON of type ``kind`` (None when absent), else a ModelError naming the graph."""
    if key not in metadata:
        return None
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: metadata '{key}' is not valid JSON ({exc})") from exc
    if not isinstance(value, kind):
        raise ModelError(f"{path}: metadata '{key}' must be a JSON {kind.__name__}, got {value!r:.80}")
    return value


def _labels(path: Path, metadata: dict[str, str], card: dict[str, Any]) -> list[str] | None:
    """The label names of the graph's metadata (else of the card's ``output``), by the rule every model reader
    applies (:func:`~facemotion.labels.declared_labels`); None when neither names any."""
    if "labels" in metadata:
        try:
            labels = json.loads(metadata["labels"])
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: metadata 'labels' is not valid JSON ({exc})") from exc
        where = "metadata 'labels'"
    else:
        output = card.get("output")
        labels = output.get("labels") if isinstance(output, dict) else None
        where = f"the model card's output.labels ({path.with_suffix('.json').name})"
    return None if labels is None else list(declared_labels(labels, None, source=f"{path}: {where}"))


def _graph_weights(proto: Any, path: Path, metadata: dict[str, str]) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``(op, weight, bias)`` of each Conv and Gemm in execution order (:func:`_layers`); a weight used once per
    test-time view (flip and zoom TTA) counts once."""
    from onnx import numpy_helper

    init = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    source: dict[str, str] = {}  # the exporter shares a tensor used twice through Identity nodes
    dequantized: dict[str, str] = {}  # an int8 graph dequantizes a shared weight once per use
    for node in proto.graph.node:
        if node.op_type == "Identity":
            source[node.output[0]] = source.get(node.input[0], node.input[0])
        elif node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            init[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        elif node.op_type == "DequantizeLinear" and all(name in init for name in node.input if name):
            first = dequantized.setdefault(node.input[0], node.output[0])
            if first == node.output[0]:
                init[first] = _dequantize(node, init)
            else:
                source[node.output[0]] = first
    seen: set[str] = set()
    out = []
    for node in _layers(proto, path, metadata):
        names = [source.get(name, name) for name in node.input]
        if names[1] in seen:
            continue
        seen.add(names[1])
        if names[1] not in init:
            raise ModelError(f"{path}: {node.op_type} node {node.name!r} takes a computed weight; "
                             f"not a facemotion export")
        weight = init[names[1]]
        bias = init[names[2]] if len(names) > 2 and names[2] else None
        if node.op_type == "Gemm" and not any(a.name == "transB" and a.i == 1 for a in node.attribute):
            weight = weight.T
        out.append((node.op_type, weight, bias))
    return out


def _layers(proto: Any, path: Path, metadata: dict[str, str]) -> list[Any]:
    """The graph's Conv and Gemm nodes in the order its metadata's ``layer_order`` names them; in graph order for a
    graph exported before that was recorded."""
    from facemotion.models.export import LAYER_ORDER_KEY

    nodes = [node for node in proto.graph.node if node.op_type in ("Conv", "Gemm")]
    order = _json_metadata(path, metadata, LAYER_ORDER_KEY, list)
    if order is None:
        return nodes
    by_output = {node.output[0]: node for node in nodes}
    not_names = [i for i, name in enumerate(order) if not isinstance(name, str)]
    missing = [name for name in order if isinstance(name, str) and name not in by_output]
    unlisted = [node.output[0] for node in nodes if node.output[0] not in set(order)]
    if not_names or missing or unlisted or len(set(order)) != len(order):
        problem = (f"entry {not_names[0]} is not a node output name" if not_names
                   else f"it names {missing[0]!r}, which no Conv/Gemm node outputs" if missing
                   else f"it leaves out the node that outputs {unlisted[0]!r}" if unlisted
                   else "it names a layer twice")
        raise ModelError(f"{path}: metadata '{LAYER_ORDER_KEY}' does not match the graph ({problem}): the graph was "
                         f"changed after export. Re-export it from the source it was exported from")
    return [by_output[name] for name in order]


def _dequantize(node: Any, init: dict[str, np.ndarray]) -> np.ndarray:
    """The float tensor a DequantizeLinear of constants computes, ``(q - zero_point) * scale`` along its axis: the
    weights of an int8 graph (:mod:`facemotion.models.quantize`), within half a quantisation step of the float
    ones they came from."""
    q = init[node.input[0]].astype(np.float64)
    scale = init[node.input[1]].astype(np.float64)
    zero = init[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else np.zeros_like(scale)
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    if scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((q - zero) * scale).astype(np.float32)


def _execution_slots(model: nn.Module) -> list[_Slot]:
    """Each Conv2d and Linear in the order a forward pass runs them, with the BatchNorm2d that reads its output."""
    slots: list[list[Any]] = []
    last: dict[str, Any] = {}

    def on_layer(module: nn.Module, _: Any, output: torch.Tensor) -> None:
        slots.append([module, None])
        last["output"] = output

    def on_norm(module: nn.Module, inputs: tuple[torch.Tensor, ...], _: Any) -> None:
        if not slots or inputs[0] is not last.get("output") or not isinstance(slots[-1][0], nn.Conv2d):
            raise ModelError(f"a BatchNorm2d does not follow a conv in {type(model).__name__}; cannot unfold it")
        slots[-1][1] = module

    hooks = []
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(on_layer))
        elif isinstance(module, nn.BatchNorm2d):
            hooks.append(module.register_forward_hook(on_norm))
        elif isinstance(module, nn.modules.batchnorm._NormBase):
            raise ModelError(f"{type(module).__name__} cannot be unfolded from an ONNX graph")
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE))
    finally:
        for hook in hooks:
            hook.remove()
    return [(module, norm) for module, norm in slots]


def _load(path: Path, slots: list[_Slot], weights: list[tuple[str, np.ndarray, np.ndarray | None]]) -> None:
    if len(slots) != len(weights):
        raise ModelError(f"{path}: the graph has {len(weights)} Conv/Gemm layers, the architecture {len(slots)}")
    with torch.no_grad():
        for i, ((module, norm), (op, weight, bias)) in enumerate(zip(slots, weights)):
            if tuple(module.weight.shape) != weight.shape or (op == "Conv") != isinstance(module, nn.Conv2d):
                raise ModelError(f"{path}: layer {i} is {op} {weight.shape} in the graph but "
                                 f"{type(module).__name__} {tuple(module.weight.shape)} in the architecture")
            module.weight.copy_(torch.from_numpy(np.array(weight, dtype=np.float32)))
            folded = (torch.from_numpy(np.array(bias, dtype=np.float32)) if bias is not None
                      else torch.zeros(weight.shape[0]))
            if norm is not None:
                norm.weight.fill_(1.0)
                norm.bias.copy_(folded)
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - norm.eps)  # sqrt(var + eps) = 1: the identity plus the bias
            elif module.bias is not None:
                module.bias.copy_(folded)
            elif bias is not None:
                raise ModelError(f"{path}: layer {i} has a bias in the graph but none in the architecture")


def model_from_onnx(path: str | Path) -> tuple[nn.Module, dict[str, str], dict[str, Any]]:
    """The eval-mode torch model an exported graph computes, with the graph's metadata and model card.

    Its logits match the graph's to float precision; check with ``OnnxClassifier`` when it matters.
    """
    path = Path(path)
    proto, metadata, card = read_graph_metadata(path)
    model = _architecture(path, metadata, card)
    _load(path, _execution_slots(model), _graph_weights(proto, path, metadata))
    return model.eval(), metadata, card


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _replace_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``out`` (same suffix, so onnx reads it as a graph), then rename it
    over ``out``: a failure or a kill leaves ``out`` as it was, never half written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=out.suffix)
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # a model file as any other, not mkstemp's private 0600
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def graph_views(metadata: dict[str, str], path: Path) -> tuple[bool, list[float]]:
    """The test-time views a graph's metadata records (:func:`~facemotion.models.tta.views_from_metadata`), or a
    ModelError naming the graph."""
    try:
        return views_from_metadata(metadata)
    except ValueError as exc:
        raise ModelError(f"{path}: the graph's test-time views: {exc}") from None


def reexport_onnx(source: str | Path, out: str | Path, *, flip_tta: bool | None = None,
                  zooms: Sequence[float] | None = None) -> Path:
    """Write ``source`` again with today's exporter (so with heatmaps), keeping its metadata and model card.

    The new graph's metadata also records the structure it was rebuilt with (``layer_order``, and ``members`` or
    ``architecture_kwargs`` where the card gave them), so it no longer needs the card to be rebuilt. The temperature
    comes from the old graph's metadata, as do its test-time views (flip, zooms) unless ``flip_tta`` or ``zooms`` say
    otherwise. The new graph's metadata records the views it has; the card, when there is one, is copied byte for
    byte, or, when the views changed, with its ``flip_tta`` and ``tta_zooms`` updated and a ``views_changed`` note
    (its temperature and metrics were measured with the old views). An int8 graph comes back as float32 from its
    dequantized weights, its card saying so under ``quantization``. ``out`` must end in ``.onnx`` and must not be
    ``source`` (ModelError, before anything is written); the graph and the card are each written to a temporary file
    and renamed into place.
    """
    from facemotion.models.export import (
        LAYER_ORDER_KEY,
        check_onnx_path,
        layer_order,
        structure_metadata,
        to_onnx,
        write_metadata,
    )

    source, out = Path(source), check_onnx_path(out)
    if _same_file(source, out):
        raise ModelError(f"{out}: is the source graph {source}; write the re-export to another file")
    model, metadata, card = model_from_onnx(source)
    temperature = float(metadata.get("temperature", "1.0"))
    old_flip, old_zooms = graph_views(metadata, source)
    flip_tta = old_flip if flip_tta is None else flip_tta
    zooms = old_zooms if zooms is None else [float(z) for z in zooms]
    # an older graph's structure, known from its card, joins the new graph's metadata (not guessed without one)
    structure = (structure_metadata(network_structure(source, metadata, card), ensemble=_is_ensemble(metadata, card))
                 if card else {})
    metadata = {**metadata, **structure, **views_metadata(flip_tta, zooms)}
    was_int8 = metadata.pop(PRECISION_KEY, None) == "int8"
    changes: dict[str, Any] = {}
    if (flip_tta, zooms) != (old_flip, old_zooms):
        note = (f"re-exported from {source.name} with other test-time views; its temperature and metrics were "
                f"measured with flip TTA {'on' if old_flip else 'off'} and zooms {old_zooms}")
        changes.update(flip_tta=flip_tta, tta_zooms=zooms, views_changed=note)
    if was_int8:
        changes["quantization"] = {"precision": "float32",
                                   "rebuilt_from": f"the dequantized int8 weights of {source.name}; its metrics "
                                                   f"were measured on the int8 graph"}
    source_card = card_path(source)
    card_bytes = source_card.read_bytes() if source_card.is_file() else None
    if card_bytes is not None and changes:
        card_bytes = card_text({**card, **changes}, source_card).encode()

    def write_graph(tmp: Path) -> None:
        to_onnx(model, tmp, temperature=temperature, flip_tta=flip_tta, zooms=zooms)
        write_metadata(tmp, {**metadata, LAYER_ORDER_KEY: json.dumps(layer_order(tmp))})

    _replace_atomically(out, write_graph)
    if card_bytes is not None and not _same_file(card_path(out), source_card):
        _replace_atomically(card_path(out), lambda tmp: tmp.write_bytes(card_bytes))
    return out
