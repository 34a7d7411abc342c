"""Model surgery for fine-tuning: a trained network (from an exported graph or a checkpoint) with a head for new
labels, its BatchNorms made trainable again, and its first stages frozen on request.

An exported graph is all a plain ``pip install`` has of the packaged models: :func:`~.from_onnx.model_from_onnx`
rebuilds them with each BatchNorm folded into its conv (identity plus bias). That is exact in eval mode but not in
training, where a BatchNorm normalises by the batch: :func:`restore_batchnorm_statistics` measures each BatchNorm's
input on the new images and sets its statistics and affine so that the eval-mode function is unchanged while
training-mode normalisation starts where the original network was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facemotion.errors import ModelError
from facemotion.labels import IMAGE_SIZE, declared_labels
from facemotion.models.ensemble import LogitEnsemble
from facemotion.models.layers import EmotionNet

__all__ = ["pretrained_model", "fit_head", "restore_batchnorm_statistics", "freeze_stages", "check_input_contract"]


def check_input_contract(proto: Any, path: Path) -> None:
    """Refuse a graph whose input is not one ``(N, 1, 48, 48)`` tensor of raw pixels: its weights expect another
    image than facemotion's crops."""
    inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    dims = [[d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim] for i in inputs]
    if len(dims) != 1 or dims[0][1:] != [1, IMAGE_SIZE, IMAGE_SIZE]:
        raise ModelError(f"{path}: its input contract differs from facemotion's (expected one input of shape "
                         f"(N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}) raw grayscale pixels, got {dims}); it cannot start "
                         f"this training")


def _best_member(ensemble: LogitEnsemble, members: list[dict[str, Any]]) -> int:
    """The member with the highest PublicTest accuracy its card records (ties and unrecorded: the first)."""
    scores = [float((m.get("training") or {}).get("selected_val_accuracy") or 0.0) for m in members]
    return max(range(len(ensemble.members)), key=lambda i: scores[i] if i < len(scores) else 0.0)


def _from_onnx(path: Path, member: int | None) -> tuple[EmotionNet, dict[str, Any]]:
    from facemotion.models.from_onnx import card_members, model_from_onnx, network_structure, read_graph_metadata

    proto, _, _ = read_graph_metadata(path)
    check_input_contract(proto, path)
    model, metadata, card = model_from_onnx(path)
    info: dict[str, Any] = {"source": str(path), "format": "onnx", "labels": _labels(metadata.get("labels"),
                                                                           getattr(model, "num_classes", None), path)}
    count = len(model.members) if isinstance(model, LogitEnsemble) else 1
    if member is not None and not 0 <= member < count:
        raise ModelError(f"{path}[{member}]: no such member; the graph holds {count} (0 to {count - 1})")
    structure = network_structure(path, metadata, card)
    index = 0
    if isinstance(model, LogitEnsemble):
        index = _best_member(model, card_members(path, structure, card, ensemble=True)) if member is None else member
        info["member"] = index
        model = model.members[index]
    info.update(architecture=structure[index]["architecture"],
                architecture_kwargs=_without_classes(structure[index]["architecture_kwargs"]))
    if not isinstance(model, EmotionNet):
        raise ModelError(f"{path}: holds a {type(model).__name__}, which cannot take a new head")
    return model, info


def _without_classes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The architecture's arguments less ``num_classes``: the new labels set that."""
    return {k: v for k, v in dict(kwargs).items() if k != "num_classes"}


def _labels(text: str | None, num_classes: int | None, path: Path) -> tuple[str, ...]:
    """The graph's ``labels`` metadata, by the one rule every model reader applies."""
    import json

    try:
        names = json.loads(text) if text is not None else None
    except ValueError as exc:
        raise ModelError(f"{path}: metadata 'labels' is not valid JSON ({exc})") from None
    return declared_labels(names, num_classes, source=f"{path}: metadata 'labels'")


def _from_checkpoint(path: Path) -> tuple[EmotionNet, dict[str, Any]]:
    from facemotion.models.serialization import model_from_checkpoint

    model, info = model_from_checkpoint(path)
    if not isinstance(model, EmotionNet):
        raise ModelError(f"{path}: holds a {type(model).__name__}, which cannot take a new head")
    labels = declared_labels((info.get("config") or {}).get("labels"), model.num_classes,
                             source=f"{path}: config labels")
    return model, {"source": str(path), "format": "checkpoint", "labels": tuple(labels),
                   "architecture": info["model"], "architecture_kwargs": _without_classes(info.get("model_kwargs", {}))}


def fit_head(model: EmotionNet, old: Sequence[str], new: Sequence[str]) -> str:
    """Give ``model`` a head for ``new`` labels: kept as is (same labels), its rows reordered (same names in another
    order), else a new head. Returns which, for the record."""
    old, new = tuple(old), tuple(new)
    if old == new:
        return "kept"
    if sorted(old) == sorted(new):
        layer = model.get_classifier()
        order = torch.tensor([old.index(name) for name in new])
        with torch.no_grad():
            layer.weight.copy_(layer.weight[order].clone())
            layer.bias.copy_(layer.bias[order].clone())
        return "reordered"
    model.reset_classifier(len(new))
    return "new"


def pretrained_model(path: str | Path, labels: Sequence[str], *,
                     member: int | None = None) -> tuple[EmotionNet, dict[str, Any]]:
    """The network in ``path`` (an exported ``.onnx`` or a ``.pt`` checkpoint) with a head for ``labels``.

    An ensemble (the packaged ``default``) gives member ``member``, by default its best by recorded PublicTest
    accuracy: averaging the weights of separately trained networks gives a broken network, and fine-tuning all
    members would multiply the cost. Returns the model in train mode and a record: source, architecture and its
    arguments, the source labels, the member taken, and whether the head was kept, reordered or replaced.
    """
    path = Path(path)
    model, info = _from_checkpoint(path) if path.suffix == ".pt" else _from_onnx(path, member)
    info["head"] = fit_head(model, info["labels"], labels)
    info["labels"] = list(info["labels"])
    return model.train(), info


@torch.no_grad()
def restore_batchnorm_statistics(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256) -> int:
    """Set every BatchNorm2d's running statistics to its input's on ``images`` ``(N, 1, 48, 48)``, and its affine so
    that the eval-mode output is unchanged: weight ``sqrt(var + eps)``, bias ``bias + mean``. Returns how many."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    sums: dict[nn.Module, list[torch.Tensor]] = {m: [] for m in norms}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], _: Any) -> None:
        x = inputs[0].float()
        sums[module].append(torch.stack([x.sum(dim=(0, 2, 3)), x.pow(2).sum(dim=(0, 2, 3)),
                                         torch.full((x.shape[1],), x.numel() / x.shape[1], device=x.device)]))

    handles = [m.register_forward_hook(hook) for m in norms]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, images.shape[0], batch_size):
            model(images[start:start + batch_size].float())
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    for norm in norms:
        total = torch.stack(sums[norm]).sum(dim=0)
        mean = total[0] / total[2]
        var = (total[1] / total[2] - mean.pow(2)).clamp_min(0.0)
        scale = (norm.running_var + norm.eps).sqrt()  # 1 for an unfolded norm; general for any eval-mode norm
        shift = norm.bias - norm.weight * norm.running_mean / scale
        gain = norm.weight / scale  # eval output = gain * x + shift; keep it
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        new_scale = (var + norm.eps).sqrt()
        norm.weight.copy_(gain * new_scale)
        norm.bias.copy_(shift + gain * mean)
    return len(norms)


def freeze_stages(model: EmotionNet, count: int) -> int:
    """Stop gradients in the first ``count`` body stages (:meth:`EmotionNet.stages`); returns the number frozen."""
    if count <= 0:
        return 0
    stages = model.stages()
    if count > len(stages):
        raise ModelError(f"--freeze {count}: {type(model).__name__} has {len(stages)} stages")
    for stage in stages[:count]:
        for parameter in stage.parameters():
            parameter.requires_grad_(False)
    return count
