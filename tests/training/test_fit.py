from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from facemotion.errors import FacemotionError
from facemotion.training import TrainConfig, fit
from facemotion.training.loop import EpochMetrics
from tests.conftest import default_usages, synthetic_images, write_fer_csv


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _small(tmp_path: Path, n: int = 700) -> Path:
    images, labels = synthetic_images(n)
    n_val = n // 7
    return write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(n - 2 * n_val, n_val, n_val))


def test_fit_learns_and_writes_the_run_dir(tmp_path: Path) -> None:
    cfg = TrainConfig(data=str(_small(tmp_path)), out=str(tmp_path / "run"), model="vgg_s",
                      model_kwargs={"width": 8}, epochs=4, batch_size=32, lr=0.05, threads=1)
    run = fit(cfg)
    assert {"config.json", "metrics.csv", "best.pt", "last.pt", "curves.png"} <= {p.name for p in run.iterdir()}
    rows = _rows(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert max(float(r["val_acc"]) for r in rows) > 0.5  # chance is 1/7
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["val_accuracy"] == pytest.approx(max(float(r["val_acc"]) for r in rows), abs=1e-5)
    with pytest.raises(FacemotionError, match="already holds a run"):
        fit(cfg)


class RecordingProgress:
    """A TrainProgress that records what fit reported."""

    def __init__(self) -> None:
        self.epochs: list[tuple[int, int, int]] = []
        self.trained: list[int] = []
        self.ended: list[tuple[float, float]] = []

    def start_epoch(self, epoch: int, epochs: int, images: int) -> None:
        self.epochs.append((epoch, epochs, images))
        self.trained.append(0)

    def step(self, new_images: int, loss: float, accuracy: float) -> None:
        self.trained[-1] += new_images

    def end_epoch(self, train: EpochMetrics, val: EpochMetrics) -> None:
        self.ended.append((train.accuracy, val.accuracy))


def test_subset_and_early_stopping(tmp_path: Path) -> None:
    cfg = TrainConfig(data=str(_small(tmp_path)), out=str(tmp_path / "run"), model="vgg_s",
                      model_kwargs={"width": 8}, epochs=30, batch_size=32, lr=0.0, patience=2, subset=100, threads=1,
                      warmup_epochs=0)
    progress = RecordingProgress()
    fit(cfg, progress=progress)
    rows = _rows(tmp_path / "run")
    assert len(rows) == 3  # lr 0: never improves after epoch 1, stops after 2 more
    # 100 of the 500 training images, in full batches of 32: 3 steps, 96 images an epoch (not 15 steps of the 500)
    assert progress.epochs == [(1, 30, 96), (2, 30, 96), (3, 30, 96)]
    assert progress.trained == [96, 96, 96]
    assert [round(val, 6) for _, val in progress.ended] == [round(float(r["val_acc"]), 6) for r in rows]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["train_images"] == 100


def test_killed_run_resumes_to_the_same_end(tmp_path: Path) -> None:
    """Kill a training process mid-run, resume it, and compare with an uninterrupted run."""
    data = _small(tmp_path, 1400)
    common = ["--data", str(data), "--arch", "vgg_s", "--width", "8", "--epochs", "4", "--batch-size", "32",
              "--lr", "0.05", "--threads", "1", "--no-progress", "--mixup", "0.2", "--class-weights", "sqrt"]
    cli = [sys.executable, "-m", "facemotion.cli.main", "train"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(cli + common + ["--out", str(tmp_path / "straight")], check=True, env=env, capture_output=True)

    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(cli + common + ["--out", str(interrupted)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not ((interrupted / "metrics.csv").exists() and len(_rows(interrupted)) >= 2):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2 <= len(_rows(interrupted)) < 4, "the run was not stopped part-way"
    subprocess.run(cli + ["--resume", str(interrupted), "--no-progress"], check=True, env=env, capture_output=True)

    assert _rows(interrupted) == [{**r, "seconds": r2["seconds"]} for r, r2 in zip(_rows(tmp_path / "straight"),
                                                                                      _rows(interrupted))]
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(interrupted / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
