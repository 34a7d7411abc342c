"""Training on several processes: DistributedDataParallel under ``torchrun`` (gloo on the CPU, NCCL on CUDA).

``fit`` is the same function on one process or many, as nanoGPT's ``train.py``: under ``torchrun`` the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...) says so, and only three things change. Every rank
draws the same seeded epoch order and takes its own slice of every global batch (:func:`rank_order`), so
``batch_size`` stays the effective batch and the learning rate keeps its meaning; the loop sums its metrics over the
ranks; rank 0 alone writes the run folder. ``facemotion train --nproc N`` starts ``N`` local processes through
``torch.distributed.run`` (:func:`launch_local`), the launcher a plain ``torchrun`` is.

Collectives time out (``$FACEMOTION_DDP_TIMEOUT`` seconds, default 300): a rank that dies makes the others stop with
a message instead of waiting for ever.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from facemotion.cpus import usable_cpus
from facemotion.errors import FacemotionError
from facemotion.training.optim import steps_per_epoch

if TYPE_CHECKING:
    from facemotion.training.loop import EpochMetrics

__all__ = ["DistContext", "setup", "teardown", "rank_order", "all_sum", "broadcast_buffers", "average_metrics",
           "launch_local", "check_nproc", "ddp_timeout", "DEFAULT_TIMEOUT", "MAX_TIMEOUT"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank, the number of processes, and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


MAX_TIMEOUT = 7 * 24 * 3600
"""The longest collective timeout taken (a week): beyond, it no longer guards against a hang."""


def ddp_timeout() -> float:
    """``$FACEMOTION_DDP_TIMEOUT`` in seconds (default :data:`DEFAULT_TIMEOUT`), checked: a value that is not a
    number of seconds in (0, a week] would fail in every process, or read as "cannot join the others"."""
    raw = os.environ.get("FACEMOTION_DDP_TIMEOUT")
    if raw is None:
        return float(DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_TIMEOUT:
        raise FacemotionError(f"$FACEMOTION_DDP_TIMEOUT must be seconds in (0, {MAX_TIMEOUT}], got {raw!r}")
    return value


def setup(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the process group when started by ``torchrun`` (else a one-process context); the device for this rank.

    Raises:
        FacemotionError: the other processes cannot be reached within the timeout.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), device
    ctx = DistContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
        device = torch.device("cuda", ctx.local_rank)
    timeout = ddp_timeout()
    if not dist.is_initialized():
        try:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(seconds=timeout))
        except (RuntimeError, ValueError) as exc:
            raise FacemotionError(f"rank {ctx.rank}: cannot join the other {world - 1} training processes at "
                                  f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')} ({exc})") from exc
    return ctx, device


def teardown(*, wait_for_peers: bool = True) -> None:
    """Leave the process group. After a run that finished, wait for every rank first: a rank that destroyed its
    group while a peer still had a collective in flight aborted gloo at exit ("terminate called without an active
    exception"). After a failure there may be no peer left to wait for, so leave at once."""
    if not dist.is_initialized():
        return
    if wait_for_peers:
        try:
            dist.barrier()
        except RuntimeError:
            pass  # a peer left already; nothing is left to finish together
    dist.destroy_process_group()


def rank_order(order: torch.Tensor, batch_size: int, ctx: DistContext) -> torch.Tensor:
    """This rank's share of an epoch's order: its ``batch_size / world_size`` slice of every global batch.

    The global batches are those one process would draw (the order is the same on every rank), so the averaged
    gradient of a step is the one-process gradient of the same images, up to BatchNorm statistics, which each rank
    takes over its own slice. A last, short batch is dropped as on one process.
    """
    if not ctx.enabled:
        return order
    per_rank = batch_size // ctx.world_size
    steps = steps_per_epoch(len(order), batch_size)
    if len(order) < batch_size:  # fewer images than one batch: split what there is
        return order[ctx.rank::ctx.world_size]
    return order[:steps * batch_size].view(steps, ctx.world_size, per_rank)[:, ctx.rank].reshape(-1)


def all_sum(*values: torch.Tensor) -> list[torch.Tensor]:
    """The sums over all ranks (the values themselves on one process)."""
    if not dist.is_initialized():
        return list(values)
    packed = torch.stack([v.detach().double().reshape(()).cpu() for v in values])
    if dist.get_backend() == "nccl":
        packed = packed.cuda()
    dist.all_reduce(packed)
    return list(packed.cpu().unbind())


def average_metrics(metrics: EpochMetrics, count: int) -> EpochMetrics:
    """Loss and accuracy over all ranks' shares (``count`` images here), weighted by their sizes."""
    if not dist.is_initialized():
        return metrics
    loss, correct, total = all_sum(torch.tensor(metrics.loss * count), torch.tensor(metrics.accuracy * count),
                                   torch.tensor(float(count)))
    return dataclasses.replace(metrics, loss=float(loss / total), accuracy=float(correct / total))


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Give every rank rank 0's BatchNorm statistics, so all ranks evaluate (and rank 0 saves) the same model."""
    if dist.is_initialized():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def check_nproc(nproc: int, device: str) -> None:
    """Refuse more processes than this machine has cores (CPU) or GPUs (CUDA)."""
    if device in ("cuda", "auto") and torch.cuda.is_available():
        have, what = torch.cuda.device_count(), "CUDA devices"
    else:
        have, what = usable_cpus(), "CPU cores"
    if nproc > have:
        raise FacemotionError(f"--nproc {nproc}: this machine has {have} {what}; use --nproc {have} or fewer "
                              f"(for several machines start torchrun on each)")


def launch_local(payload: dict[str, Any], nproc: int) -> int:
    """Run ``facemotion.cli._ddp_worker`` in ``nproc`` local processes under ``torch.distributed.run`` (loopback
    rendezvous on a free port); returns its exit code. ``payload`` is what the workers pass to ``fit``."""
    with tempfile.TemporaryDirectory(prefix="facemotion-ddp-") as tmp:
        spec = Path(tmp) / "job.json"
        spec.write_text(json.dumps(payload))
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                   "--module", "facemotion.cli._ddp_worker", str(spec)]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        logger.debug("launching %s", " ".join(command))
        return subprocess.call(command, env=env)
