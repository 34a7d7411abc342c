"""From a training checkpoint to a shipped model: calibrate on PublicTest, export ONNX (int8 if asked), write the
model card."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facemotion.cards import card_path, read_card, write_card
from facemotion.data import FER2013
from facemotion.data.splits import SPLIT_TO_USAGE
from facemotion.errors import ModelError
from facemotion.evaluation.calibration import fit_temperature, nll, tta_probabilities
from facemotion.evaluation.intended_use import with_intended_use
from facemotion.evaluation.metrics import expected_calibration_error
from facemotion.inference.backends import labels_from_metadata
from facemotion.inference.weights import graph_source
from facemotion.labels import EMOTIONS, IMAGE_SIZE, declared_labels
from facemotion.models import LogitEnsemble, count_macs, count_parameters, model_from_checkpoint
from facemotion.models.export import check_onnx_path, structure_metadata, to_onnx
from facemotion.models.quantize import PRECISION_KEY
from facemotion.models.tta import TTAViews, view_count
from facemotion.training.config import command_line
from facemotion.training.loop import predict_logits
from facemotion.training.run_dir import read_metrics

__all__ = ["export_checkpoint", "quantize_export", "load_members", "view_logits", "git_commit"]

logger = logging.getLogger(__name__)


def view_logits(model: torch.nn.Module, images: np.ndarray, flip_tta: bool, zooms: Sequence[float] = (),
                batch_size: int = 512) -> list[np.ndarray]:
    """Logits of every test-time view (the images, their mirrors when ``flip_tta``, each zoom and its mirror), in
    the order and form the graph computes them; the views are built a batch at a time, so memory stays flat."""
    views = TTAViews(flip=flip_tta, zooms=zooms)
    per_view: list[list[np.ndarray]] = [[] for _ in range(view_count(flip_tta, zooms))]
    for start in range(0, max(len(images), 1), batch_size):  # one (maybe empty) batch at least: shaped results
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size, None])).float()
        for logits, view in zip(per_view, views(x)):
            logits.append(predict_logits(model, view, channels_last=False).numpy())
    return [np.concatenate(logits) for logits in per_view]


def git_commit(path: Path) -> str | None:
    """The commit of the checkout holding ``path``, when there is one, for the model card."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True,
                             timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _training_summary(weights: Path, info: dict[str, Any]) -> dict[str, Any]:
    run_dir = weights.parent
    summary: dict[str, Any] = {"config": info.get("config"), "selected_epoch": info.get("epoch"),
                               "selected_val_accuracy": info.get("val_accuracy")}
    config_file = run_dir / "config.json"
    if config_file.is_file():
        payload = json.loads(config_file.read_text())
        summary["data"] = payload.get("data")
        summary["environment"] = payload.get("environment")
        if payload.get("teacher"):
            summary["teacher"] = payload["teacher"]
    rows = read_metrics(run_dir)
    if rows:
        summary["epochs_run"] = int(rows[-1]["epoch"])
        summary["train_seconds"] = round(sum(r["seconds"] for r in rows), 1)
    summary["command"] = command_line(info.get("config") or {})
    return summary


def _member(weights: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """One checkpoint's network and its description for the model card."""
    model, info = model_from_checkpoint(weights)
    labels = declared_labels((info.get("config") or {}).get("labels"), getattr(model, "num_classes", None),
                             source=f"{weights}: config labels")
    return model, {"architecture": info["model"], "architecture_kwargs": info.get("model_kwargs", {}),
                   "parameters": count_parameters(model), "macs": count_macs(model), "labels": list(labels),
                   "training": _training_summary(weights, info)}


def _graph_members(source: str | Path) -> list[tuple[torch.nn.Module, dict[str, Any]]]:
    """The networks inside an exported graph (an ensemble's members one by one, or those ``FILE.onnx[K,...]``
    names), each with the structure it was rebuilt with and its training record from the model card (which names
    the training data): so a shipped model whose checkpoints are gone can join another ensemble."""
    from facemotion.models.from_onnx import card_members, model_from_onnx, network_structure

    weights, picked = graph_source(source)
    if not card_path(weights).is_file():
        raise ModelError(f"{weights}: a graph joins an ensemble with its model card beside it "
                         f"({card_path(weights)}), which names its training data; it is missing")
    model, metadata, card = model_from_onnx(weights)
    labels = list(labels_from_metadata(metadata, None, weights))
    nets = list(model.members) if isinstance(model, LogitEnsemble) else [model]
    structure = network_structure(weights, metadata, card)
    described = card_members(weights, structure, card, ensemble=isinstance(model, LogitEnsemble))
    if len(described) != len(nets):
        raise ModelError(f"{weights}: the graph holds {len(nets)} networks but its card describes {len(described)}")
    chosen = range(len(nets)) if picked is None else picked
    wrong = [i for i in chosen if not 0 <= i < len(nets)]
    if wrong:
        raise ModelError(f"{source}: no member {wrong[0]}; the graph holds {len(nets)} (0 to {len(nets) - 1})")
    dequantized = {"rebuilt_from": "dequantized int8 weights"} if metadata.get(PRECISION_KEY) == "int8" else {}
    return [(nets[i], {**structure[i],
                       "parameters": count_parameters(nets[i]), "macs": count_macs(nets[i]), "labels": list(labels),
                       "training": described[i].get("training") or {},
                       "from": weights.name if picked is None else f"{weights.name}[{i}]", **dequantized})
            for i in chosen]


def load_members(source: str | Path) -> list[tuple[torch.nn.Module, dict[str, Any]]]:
    """The eval-mode networks a source holds, each with its model-card description: a ``.pt`` checkpoint gives
    one, an exported ``.onnx`` its members (``FILE.onnx[K,...]``: those members)."""
    if graph_source(source)[0].suffix.lower() == ".onnx":
        return _graph_members(source)
    return [_member(Path(source))]


def _ensemble(members: Sequence[tuple[torch.nn.Module, dict[str, Any]]], weights: Sequence[Path],
              ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The logit-mean of the networks of several checkpoints or exported graphs (``load_members``), refused
    unless they were trained on the same data."""
    hashes = {(m["training"].get("data") or {}).get("hash") for _, m in members}
    if len(hashes) > 1:
        raise ModelError(f"ensemble members were trained on different data (hashes {sorted(map(str, hashes))}): "
                         f"{', '.join(map(str, weights))}")
    label_sets = {tuple(m["labels"]) for _, m in members}
    if len(label_sets) > 1:
        raise ModelError(f"ensemble members have different labels ({sorted(label_sets)}): "
                         f"{', '.join(map(str, weights))}")
    model = LogitEnsemble([net for net, _ in members])
    cards = [m for _, m in members]
    summary = {"data": cards[0]["training"].get("data"), "environment": cards[0]["training"].get("environment"),
               "train_seconds": round(sum(c["training"].get("train_seconds", 0.0) for c in cards), 1),
               "command": " && ".join(c["training"].get("command", f"(from {c.get('from')})") for c in cards)}
    return model, {"architecture": "ensemble", "architecture_kwargs": {}, "parameters": count_parameters(model),
                   "macs": count_macs(model), "labels": cards[0]["labels"], "training": summary, "members": cards}


def _calibration_data(data: str | Path, weights: Sequence[Path], labels: list[str]) -> FER2013:
    """The data whose val split fits the temperature, read as the first checkpoint's run read it (faces, split,
    label order); graphs keep no such record, so with graphs only it is read with the default settings."""
    from facemotion.training.config import TrainConfig
    from facemotion.training.data_source import load_training_data

    checkpoint = next((w for w in weights if w.suffix.lower() == ".pt"), None)
    saved = dict(model_from_checkpoint(checkpoint)[1].get("config") or {}) if checkpoint else {}
    cfg = TrainConfig.from_dict({**saved, "data": str(data)}) if saved else TrainConfig(data=str(data), out="")
    loaded = load_training_data(cfg)
    if list(loaded.label_names) != labels:
        raise ModelError(f"{data}: its labels {list(loaded.label_names)} are not the model's {labels}")
    return loaded


def check_calibration_data(data: str | Path, weights: Sequence[str | Path], *, temperature: bool,
                           int8: bool) -> None:
    """Read ``data`` as the export will, before anything is written: its labels must be the model's, its PublicTest
    split must hold faces to fit a ``temperature`` on, its Training split faces to set ``int8`` ranges from. (An
    export that found out afterwards had already replaced ``--out``.)"""
    from facemotion.inference.backends import classifier_labels, load_classifier
    from facemotion.inference.weights import graph_source

    paths = [Path(w) for w in weights]
    labels = list(classifier_labels(load_classifier(str(graph_source(paths[0])[0]))))
    loaded = _calibration_data(data, paths, labels)
    for needed, split, why in ((temperature, "val", "the temperature is fitted on it"),
                               (int8, "train", "int8 activation ranges are measured on it")):
        if needed and len(loaded.split(split)) == 0:
            raise ModelError(f"{data}: its {SPLIT_TO_USAGE[split]} split holds no faces; {why}")


def export_checkpoint(weights: str | Path | Sequence[str | Path], out: str | Path, *,
                      calibrate_data: str | Path | None = None, flip_tta: bool = True,
                      zooms: Sequence[float] = (), name: str | None = None) -> dict[str, Any]:
    """Export ``weights`` (a .pt, or several for their logit-mean ensemble) to ``out`` (.onnx) and write the
    model card ``out`` with suffix .json.

    With ``calibrate_data``, a temperature is fitted on its PublicTest split (never on PrivateTest), over the same
    test-time views (``flip_tta``, centred ``zooms``) the graph averages.
    Returns the card.
    """
    paths = [Path(weights)] if isinstance(weights, (str, Path)) else [Path(w) for w in weights]
    if not paths:
        raise ModelError("export needs at least one checkpoint")
    out = check_onnx_path(out)
    members = [m for source in paths for m in load_members(source)]
    model, described = members[0] if len(members) == 1 else _ensemble(members, paths)
    temperature = 1.0
    calibration: dict[str, Any] = {"fitted_on": None}
    if calibrate_data is not None:
        val = _calibration_data(calibrate_data, paths, described["labels"]).val
        if len(val) == 0:
            raise ModelError(f"{calibrate_data}: its PublicTest split holds no faces; the temperature is fitted on it")
        views = view_logits(model, val.images, flip_tta, zooms)
        temperature = fit_temperature(views, val.labels)
        before, after = tta_probabilities(views, 1.0), tta_probabilities(views, temperature)
        calibration = {"fitted_on": "PublicTest", "temperature": temperature,
                       "val_nll_before": nll(before, val.labels), "val_nll_after": nll(after, val.labels),
                       "val_ece_before": expected_calibration_error(before, val.labels),
                       "val_ece_after": expected_calibration_error(after, val.labels)}
        logger.info("temperature %.3f: PublicTest ECE %.4f -> %.4f", temperature, calibration["val_ece_before"],
                    calibration["val_ece_after"])
    card: dict[str, Any] = {
        "name": name or out.stem,
        "file": out.name,
        "architecture": described["architecture"],
        "architecture_kwargs": described["architecture_kwargs"],
        "parameters": described["parameters"],
        "macs": described["macs"],
        "input": {"name": "pixels", "shape": ["N", 1, IMAGE_SIZE, IMAGE_SIZE], "dtype": "float32",
                  "range": "raw grayscale 0-255; per-image standardisation is inside the graph"},
        "output": {"name": "probabilities", "shape": ["N", len(described["labels"])], "labels": described["labels"]},
        "temperature": temperature,
        "flip_tta": flip_tta,
        "tta_zooms": [float(z) for z in zooms],
        "calibration": calibration,
        "training": described["training"],
        **({"members": described["members"]} if "members" in described else {}),
        "exported": dt.date.today().isoformat(),
        "commit": git_commit(Path(__file__).parent),
        "metrics": {},
    }
    with_intended_use(card)  # its measured weaknesses follow once `facemotion evaluate --card` records metrics
    to_onnx(model, out, temperature=temperature, flip_tta=flip_tta, zooms=zooms, labels=described["labels"],
            metadata={"name": card["name"], "architecture": card["architecture"],
                      **structure_metadata(described.get("members", [described]), ensemble="members" in described)})
    write_card(card_path(out), card)
    return card


def quantize_export(out: str | Path, data: str | Path, weights: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Turn the exported graph ``out`` into int8 in place and record it in the card beside it (``quantization``).

    Activation ranges are measured on Training faces of ``data``, read as the first checkpoint of ``weights`` was
    trained on (with graphs only, the default settings): never on PublicTest or PrivateTest, which score it.
    Returns the ``quantization`` record.
    """
    from facemotion.models.quantize import calibration_sample, quantize_graph

    out = Path(out)
    card_file = card_path(out)
    card = read_card(card_file) if card_file.is_file() else {}
    labels = (card.get("output") or {}).get("labels") or list(EMOTIONS)
    train = _calibration_data(data, [Path(w) for w in weights], labels).train
    record = quantize_graph(out, out, calibration_sample(train.images))
    record["calibrated_on"] = f"{record['calibration_faces']} faces drawn from the Training split of {Path(data).name}"
    if card:
        card["quantization"] = record
        if card.get("metrics"):  # a re-exported card's figures are the float graph's: kept apart, not passed off
            card["float_metrics"], card["metrics"] = card["metrics"], {}
        write_card(card_file, card)
    return record
