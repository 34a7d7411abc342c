"""report.json, report.md and confusion.png: an evaluation a person can read and a program can parse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facemotion.evaluation.metrics import (
    accuracy,
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_class_prf,
)
from facemotion.labels import EMOTIONS

__all__ = ["EvaluationReport", "build_report", "write_report"]


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    macro_f1: float
    ece: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    images: int
    meta: dict[str, Any]
    label_names: tuple[str, ...] = field(default=EMOTIONS)
    """The model's labels: the rows and columns of ``confusion``, the keys of ``per_class``."""

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "ece_15": self.ece, "images": self.images,
                "per_class": self.per_class, "confusion_matrix": self.confusion, "labels": list(self.label_names),
                **self.meta}


def build_report(probabilities: np.ndarray, labels: np.ndarray, meta: dict[str, Any] | None = None,
                 names: Sequence[str] = EMOTIONS) -> EvaluationReport:
    """Score predicted probabilities against true labels; ``names`` are the model's label names, in its order."""
    names = tuple(names)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(names):
        raise ValueError(f"expected probabilities of shape (N, {len(names)}) for the labels {names}, "
                         f"got {probabilities.shape}")
    confusion = confusion_matrix(labels, probabilities.argmax(axis=1), num_classes=len(names))
    precision, recall, f1 = per_class_prf(confusion)
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(confusion[i].sum())} for i, name in enumerate(names)}
    return EvaluationReport(accuracy(confusion), macro_f1(confusion), expected_calibration_error(probabilities, labels),
                            per_class, confusion.tolist(), int(len(labels)), dict(meta or {}), names)


def _markdown(report: EvaluationReport) -> str:
    meta = report.meta
    lines = [f"# Evaluation: {meta.get('weights', '')} on {meta.get('split', '')}", "",
             f"- images: {report.images}", f"- accuracy: **{100 * report.accuracy:.2f} %**",
             f"- macro-F1: {100 * report.macro_f1:.2f} %", f"- ECE (15 bins): {100 * report.ece:.2f} %",
             f"- test-time augmentation: {meta.get('tta', 'none')}", "",
             "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, row in report.per_class.items():
        lines.append(f"| {name} | {100 * row['precision']:.1f} | {100 * row['recall']:.1f} | {100 * row['f1']:.1f} "
                     f"| {row['support']} |")
    lines += ["", "![confusion matrix](confusion.png)", ""]
    return "\n".join(lines)


def _plot_confusion(report: EvaluationReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(report.confusion)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    panels = ((axes[0], counts, "counts", "{:d}"), (axes[1], normalised, "row-normalised", "{:.2f}"))
    for ax, matrix, title, fmt in panels:
        ax.imshow(matrix, cmap="Blues")
        names = report.label_names
        ax.set(xticks=range(len(names)), yticks=range(len(names)), xticklabels=names, yticklabels=names,
               xlabel="predicted", ylabel="true", title=title)
        ax.tick_params(axis="x", rotation=45)
        top = matrix.max() if matrix.size else 1
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                value = matrix[i, j]
                ax.text(j, i, fmt.format(int(value) if fmt == "{:d}" else value), ha="center", va="center",
                        color="white" if value > 0.6 * top else "black", fontsize=8)
    fig.suptitle(f"{report.meta.get('split', '')}: accuracy {100 * report.accuracy:.2f} %, "
                 f"macro-F1 {100 * report.macro_f1:.2f} %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(report: EvaluationReport, out_dir: Path) -> dict[str, Path]:
    """Write the three files into ``out_dir``; the PNG needs matplotlib (train extra) and is skipped without it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md"}
    paths["json"].write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    paths["md"].write_text(_markdown(report))
    try:
        _plot_confusion(report, out_dir / "confusion.png")
        paths["png"] = out_dir / "confusion.png"
    except ImportError:
        pass
    return paths
