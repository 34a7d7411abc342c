"""``--init``: the network a run starts from, for fine-tuning (packaged model, exported graph or checkpoint)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from facemotion.errors import ModelError
from facemotion.models.finetune import freeze_stages, pretrained_model, restore_batchnorm_statistics
from facemotion.models.layers import EmotionNet

__all__ = ["resolve_init", "initial_model"]

logger = logging.getLogger(__name__)

def resolve_init(init: str) -> tuple[Path, int | None]:
    """A packaged name (``default``, ``fast``, ``accurate``) or a ``.onnx``/``.pt`` path, as a file; with ``[K]``
    after a graph (``accurate[2]``, ``FILE.onnx[0]``), the ensemble member K rather than the best one."""
    from facemotion.inference.weights import graph_source, resolve_model

    base, picked = graph_source(init)
    path = resolve_model(str(base))
    if path.suffix not in (".onnx", ".pt"):
        raise ModelError(f"--init {init}: expected a packaged name, an .onnx or a .pt file")
    if picked is not None and (len(picked) != 1 or path.suffix != ".onnx"):
        raise ModelError(f"--init {init}: [K] picks one member of an exported ensemble (an .onnx or packaged name)")
    return path, None if picked is None else picked[0]


def initial_model(init: str, labels: Sequence[str], train_images: torch.Tensor, *,
                  freeze: int = 0) -> tuple[EmotionNet, dict[str, Any]]:
    """The network in ``init`` with a head for ``labels``, its BatchNorms re-measured on (up to 2,048 of) the
    training images when they came from a graph, its first ``freeze`` stages fixed; and the record for
    config.json."""
    path, member = resolve_init(init)
    model, info = pretrained_model(path, labels, member=member)
    if info["format"] == "onnx":
        sample = train_images[torch.linspace(0, train_images.shape[0] - 1, min(2048, train_images.shape[0])).long()]
        info["batchnorms_restored"] = restore_batchnorm_statistics(model, sample.cpu().float())
    info["frozen_stages"] = freeze_stages(model, freeze)
    info["init"] = init
    logger.info("starting from %s (%s%s), head %s", path, info["architecture"],
                f", ensemble member {info['member']}" if "member" in info else "", info["head"])
    return model, info
