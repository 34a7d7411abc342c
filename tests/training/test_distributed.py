"""DDP: each rank's share of the batches, two gloo processes against one, resume, a dying rank, --nproc checks."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from facemotion.errors import FacemotionError
from facemotion.training import TrainConfig, fit
from facemotion.training.distributed import DistContext, check_nproc, rank_order
from tests.conftest import default_usages, synthetic_images, write_fer_csv

TOLERANCE = 0.06
"""Two processes may end this far (in val accuracy) from one: the same batches and gradients, but BatchNorm
statistics over half batches and other augmentation draws."""


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _data(tmp_path: Path, n: int = 700) -> Path:
    images, labels = synthetic_images(n)
    n_val = n // 7
    return write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(n - 2 * n_val, n_val, n_val))


def _train_args(data: Path, out: Path, epochs: int = 3) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--model", "vgg_s", "--width", "8", "--epochs",
            str(epochs), "--batch-size", "32", "--lr", "0.05", "--threads", "1", "--no-progress"]


def test_rank_order_splits_every_global_batch() -> None:
    order = torch.randperm(100, generator=torch.Generator().manual_seed(0))
    shares = [rank_order(order, 16, DistContext(rank, 2)) for rank in range(2)]
    assert [len(s) for s in shares] == [48, 48]  # 6 full batches of 16, 8 per rank each; the last 4 dropped
    for step in range(6):
        together = torch.cat([s[step * 8:(step + 1) * 8] for s in shares])
        assert torch.equal(together, order[step * 16:(step + 1) * 16])
    assert torch.equal(rank_order(order, 16, DistContext()), order)


def test_nproc_larger_than_the_cores_is_refused() -> None:
    cores = len(os.sched_getaffinity(0))
    check_nproc(cores, "cpu")
    with pytest.raises(FacemotionError, match=rf"--nproc {cores + 1}: this machine has {cores} CPU cores"):
        check_nproc(cores + 1, "cpu")


def test_two_gloo_processes_reach_the_metrics_of_one_and_resume(tmp_path: Path) -> None:
    from facemotion.cli.main import _register_commands, app

    data = _data(tmp_path)
    one = fit(TrainConfig(data=str(data), out=str(tmp_path / "one"), model="vgg_s", model_kwargs={"width": 8},
                          epochs=3, batch_size=32, lr=0.05, threads=1), progress=False)
    _register_commands()
    result = CliRunner().invoke(app, [*_train_args(data, tmp_path / "two", epochs=2), "--nproc", "2"])
    assert result.exit_code == 0, result.output
    assert [int(r["epoch"]) for r in _rows(tmp_path / "two")] == [1, 2]
    config = (tmp_path / "two" / "config.json").read_text()
    assert '"epochs": 2' in config
    # resume under DDP with one more epoch than recorded: edit nothing, just continue the 2-epoch run's last.pt
    state = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    state["config"]["epochs"] = 3
    torch.save(state, tmp_path / "two" / "last.pt")
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "two"), "--nproc", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    two = _rows(tmp_path / "two")
    assert [int(r["epoch"]) for r in two] == [1, 2, 3]
    best_one = max(float(r["val_acc"]) for r in _rows(one))
    best_two = max(float(r["val_acc"]) for r in two)
    assert best_one > 0.5 and abs(best_two - best_one) <= TOLERANCE, (best_one, best_two)
    assert {p.name for p in (tmp_path / "two").iterdir()} >= {"best.pt", "last.pt", "metrics.csv", "config.json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DYING_RANK = """
import importlib, os, sys
from facemotion.training import TrainConfig, fit
fit_module = importlib.import_module("facemotion.training.fit")
real = fit_module.train_one_epoch
def dying(*args, first_step, **kwargs):
    if os.environ["RANK"] == "1" and first_step > 0:
        os._exit(7)  # rank 1 dies at the start of epoch 2
    return real(*args, first_step=first_step, **kwargs)
fit_module.train_one_epoch = dying
try:
    fit(TrainConfig(data=sys.argv[1], out=sys.argv[2], model="vgg_s", model_kwargs={"width": 8}, epochs=3,
                    batch_size=32, lr=0.05, threads=1), progress=False)
except ValueError as exc:
    print("error:", exc, file=sys.stderr)
    sys.exit(2)
"""


def test_a_dying_rank_stops_the_other_with_a_message(tmp_path: Path) -> None:
    """Started without torchrun's agent (as on another machine), so the survivor must notice by itself."""
    data = _data(tmp_path)
    script = tmp_path / "dying.py"
    script.write_text(DYING_RANK)
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "FACEMOTION_DDP_TIMEOUT": "30"}
        procs.append(subprocess.Popen([sys.executable, str(script), str(data), str(tmp_path / "run")], env=env,
                                      stderr=subprocess.PIPE, text=True))
    started = time.monotonic()
    _, err0 = procs[0].communicate(timeout=240)
    _, err1 = procs[1].communicate(timeout=30)
    assert procs[1].returncode == 7, err1
    assert procs[0].returncode == 2, err0
    assert "rank 0: training stopped because another process of the run failed" in err0
    assert "continue with --resume" in err0
    assert time.monotonic() - started < 200
    assert [int(r["epoch"]) for r in _rows(tmp_path / "run")] == [1]  # epoch 1 kept, resumable
