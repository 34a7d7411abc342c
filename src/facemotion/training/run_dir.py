"""The run directory a person reads: config.json, metrics.csv and curves.png."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

__all__ = ["METRICS_FIELDS", "write_config", "append_metrics", "read_metrics", "truncate_metrics", "plot_curves"]

logger = logging.getLogger(__name__)

METRICS_FIELDS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def write_config(run_dir: Path, payload: dict[str, Any]) -> None:
    (run_dir / "config.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def append_metrics(run_dir: Path, row: dict[str, float]) -> None:
    """Append one epoch's row, flushed at once so a killed run keeps every finished epoch."""
    path = run_dir / "metrics.csv"
    new = not path.is_file()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: (f"{row[k]:.6g}" if k != "epoch" else int(row[k])) for k in METRICS_FIELDS})


def truncate_metrics(run_dir: Path, last_epoch: int) -> None:
    """Drop rows after ``last_epoch``: a run killed between its metrics row and its checkpoint redoes that epoch."""
    rows = [r for r in read_metrics(run_dir) if r["epoch"] <= last_epoch]
    path = run_dir / "metrics.csv"
    if path.exists():
        path.unlink()
    for row in rows:
        append_metrics(run_dir, row)


def plot_curves(run_dir: Path) -> Path | None:
    """Loss and accuracy per epoch, train against val, so overfitting shows at a glance.

    Skipped (None) where matplotlib is not installed, as on a bare GPU machine: the curves are a view of
    metrics.csv, which is always written, and can be drawn later from it.
    """
    rows = read_metrics(run_dir)
    if not rows:
        return None
    try:
        import matplotlib
    except ImportError:
        logger.debug("matplotlib is not installed: %s/curves.png not drawn", run_dir)
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train", "train"), ("val", "val (PublicTest)")):
        ax_loss.plot(epochs, [r[f"{key}_loss"] for r in rows], marker=".", label=label)
        ax_acc.plot(epochs, [100 * r[f"{key}_acc"] for r in rows], marker=".", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(run_dir.name)
    fig.tight_layout()
    path = run_dir / "curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
