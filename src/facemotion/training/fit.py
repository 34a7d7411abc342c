"""fit(config): seed, load data onto the device, train epoch by epoch, keep the best and last checkpoints, resume."""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

import facemotion
from facemotion.data import FER2013
from facemotion.errors import FacemotionError, ModelError
from facemotion.labels import NUM_CLASSES
from facemotion.models import count_macs, count_parameters, model_state
from facemotion.models.serialization import build_model, load_checkpoint
from facemotion.training import distributed
from facemotion.training.checkpoint import BEST, LAST, save_atomic
from facemotion.training.config import TrainConfig
from facemotion.training.data_source import data_record, load_training_data, write_skipped
from facemotion.training.distill import (
    PROBABILITIES_FILE,
    load_or_score_probabilities,
    teacher_description,
    teacher_predictor,
)
from facemotion.training.loop import TrainProgress, evaluate_epoch, train_one_epoch
from facemotion.training.optim import build_optimizer, lr_at, steps_per_epoch
from facemotion.training.run_dir import append_metrics, plot_curves, truncate_metrics, write_config
from facemotion.training.teacher_views import VIEWS_FILE, TeacherViews, load_or_score_views

__all__ = ["fit", "resume", "resume_config", "resolve_device", "channels_last_safe", "class_weight_vector",
           "epoch_seed"]

logger = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``auto`` takes CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise FacemotionError("device 'cuda' was asked for but no CUDA device is available")
    return torch.device(name)


def channels_last_safe(model: torch.nn.Module, device: torch.device) -> bool:
    """channels_last speeds up CPU training by about 45 %, but torch 2.13's CPU backward of grouped (depthwise)
    convolutions in that layout segfaults; such models train in the default layout on the CPU."""
    grouped = any(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in model.modules())
    return device.type == "cuda" or not grouped


def class_weight_vector(labels: np.ndarray, mode: str, num_classes: int = NUM_CLASSES) -> np.ndarray | None:
    """Per-class loss weights: ``balanced`` is N / (K * n_c); ``sqrt`` its square root, a milder push."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    return np.sqrt(weights) if mode == "sqrt" else weights


def epoch_seed(seed: int, epoch: int) -> int:
    """Every epoch draws from its own seed, so a resumed run repeats exactly what an uninterrupted one does."""
    return seed * 1_000_003 + epoch


def _epoch_order(labels: torch.Tensor, gen: torch.Generator, balanced: bool, weights: torch.Tensor | None,
                 ) -> torch.Tensor:
    if not balanced:
        return torch.randperm(labels.shape[0], generator=gen, device=labels.device)
    per_sample = weights[labels]
    return torch.multinomial(per_sample, labels.shape[0], replacement=True, generator=gen)


def _to_device(images: np.ndarray, labels: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(images[:, None]).to(device), torch.from_numpy(labels).to(device)


def _config_payload(cfg: TrainConfig, data: FER2013, model: torch.nn.Module, device: torch.device) -> dict[str, Any]:
    return {
        "config": cfg.to_dict(),
        "data": {"source": data.source, "hash": data.content_hash(),
                 "train_images": len(data.train) if not cfg.subset else min(cfg.subset, len(data.train)),
                 "val_images": len(data.val)},
        "model": {"name": cfg.model, "kwargs": cfg.model_kwargs, "parameters": count_parameters(model),
                  "macs": count_macs(model)},
        "teacher": teacher_description(cfg.teacher) if cfg.teacher else None,
        "environment": {"facemotion": facemotion.__version__, "torch": torch.__version__,
                        "python": platform.python_version(),
                        "device": str(device), "threads": torch.get_num_threads(), "machine": platform.machine(),
                        "processor": platform.processor() or platform.machine()},
    }


def _check_same_teacher(run_dir: Path, teacher: str, now: dict[str, Any]) -> None:
    """A resumed run must learn from the file it started with: a packaged name can since mean another model."""
    recorded = json.loads((run_dir / "config.json").read_text()).get("teacher") or {}
    if recorded.get("sha256_16") not in (None, now["sha256_16"]):
        raise FacemotionError(f"{run_dir}: the teacher {teacher!r} is now {now['path']} (sha256 {now['sha256_16']}), "
                              f"not the file the run started with ({recorded.get('path')}, sha256 "
                              f"{recorded.get('sha256_16')}); resuming would change the targets mid-run")


def _teacher_targets(cfg: TrainConfig, run_dir: Path, images: np.ndarray, names: tuple[str, ...], *, resumed: bool,
                     write: bool) -> TeacherViews | np.ndarray | None:
    """The teacher's soft targets for the training ``images`` (a view bank with ``teacher_views``), from the run
    folder's cache when there. The teacher is loaded here, once, and its labels checked even where the cache spares
    scoring; it is freed when this returns, before the first epoch."""
    if not cfg.teacher:
        return None
    described = teacher_description(cfg.teacher)
    if resumed:
        _check_same_teacher(run_dir, cfg.teacher, described)
    predict = teacher_predictor(cfg.teacher, names)
    logger.info("teacher: %s (%s)", cfg.teacher, described["path"])
    if cfg.teacher_views:
        return load_or_score_views(predict, described["sha256_16"], images, cfg.teacher_views, rotate=cfg.rotate,
                                   scale=cfg.scale, shift=cfg.shift, flip=cfg.flip, seed=cfg.seed,
                                   cache=run_dir / VIEWS_FILE, write=write, labels=names)
    return load_or_score_probabilities(predict, described["sha256_16"], images, labels=names,
                                       cache=run_dir / PROBABILITIES_FILE, write=write)


_RESUME_KEYS = ("config", "optimizer", "epoch", "best_val_accuracy", "best_epoch", "bad_epochs")


def _load_resume_state(last: Path) -> dict[str, Any]:
    """``last.pt`` checked whole before anything is built from it; its ``config`` comes back as a TrainConfig.

    A truncated, empty or foreign file is an error naming it, not a torch traceback (or click's bare "Aborted!"
    for the EOFError of an empty file).
    """
    state = load_checkpoint(last)
    missing = [key for key in _RESUME_KEYS if key not in state]
    if missing:
        raise ModelError(f"{last}: not a resumable checkpoint (no {', '.join(missing)}); best.pt cannot be resumed")
    try:
        config = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{last}: the saved training settings are invalid: {exc}") from exc
    if not isinstance(state["epoch"], int) or isinstance(state["epoch"], bool):
        raise ModelError(f"{last}: the saved epoch must be an integer, got {state['epoch']!r}")
    return {**state, "config": config}


def resume_config(run_dir: str | Path) -> TrainConfig:
    """The settings of the run in ``run_dir`` that :func:`resume` continues: its ``last.pt``'s config.

    ``train --resume RUN --nproc N`` checks ``N`` against this config's device, not the command line's default.
    """
    last = Path(run_dir) / LAST
    if not last.is_file():
        raise FacemotionError(f"{run_dir}: nothing to resume (no {LAST})")
    return _load_resume_state(last)["config"]


def fit(cfg: TrainConfig, *, progress: TrainProgress | None = None) -> Path:
    """Train ``cfg.model`` on FER2013 Training, select on PublicTest; returns the run directory ``cfg.out``.

    ``progress`` is told of every epoch and, every few steps, of the running loss and accuracy (the CLI passes a
    tqdm bar); training itself prints nothing.

    Under ``torchrun`` (or ``facemotion train --nproc N``) every process calls this; see :mod:`.distributed`.
    An interrupted run is continued with :func:`resume`.

    Raises:
        FacemotionError: bad data or settings; under DDP also another process of the run failing or dying.
    """
    if Path(cfg.out).exists() and not Path(cfg.out).is_dir():
        raise FacemotionError(f"--out {cfg.out}: is a file; a run writes a folder, choose another --out")
    if (Path(cfg.out) / LAST).exists():
        raise FacemotionError(f"{cfg.out} already holds a run; use --resume to continue it or choose another --out")
    return _guarded(cfg, Path(cfg.out), None, progress)


def resume(run_dir: str | Path, *, progress: TrainProgress | None = None, threads: int | None = None) -> Path:
    """Continue the run in ``run_dir`` from its ``last.pt`` with the settings saved there; it ends where an
    uninterrupted run would have. ``threads`` (CPU threads for torch) may differ from the run's: a machine with
    other cores should not be bound to the first one's. Returns ``run_dir``.

    Raises:
        FacemotionError: nothing to resume, or a damaged ``last.pt`` (named).
    """
    last = Path(run_dir) / LAST
    if not last.is_file():
        raise FacemotionError(f"{run_dir}: nothing to resume (no {LAST})")
    state = _load_resume_state(last)
    if threads is not None:
        state["config"] = dataclasses.replace(state["config"], threads=threads)
    return _guarded(state["config"], Path(run_dir), state, progress)


def _guarded(cfg: TrainConfig, run_dir: Path, state: dict[str, Any] | None,
             progress: TrainProgress | None) -> Path:
    """``_fit``, with a failed collective (a peer that died or hangs) turned into a message, and DDP torn down."""
    finished = False
    try:
        _fit(cfg, run_dir=run_dir, state=state, progress=progress)
        finished = True
        return run_dir
    except RuntimeError as exc:  # a collective failed or timed out: a peer died or hangs
        if not torch.distributed.is_initialized():
            raise
        rank = torch.distributed.get_rank()
        reason = str(exc).strip().splitlines()[0][:300]
        raise FacemotionError(f"rank {rank}: training stopped because another process of the run failed, was "
                              f"killed or stopped answering ({reason}); the run folder keeps the last finished "
                              f"epoch: continue with --resume") from None
    finally:
        distributed.teardown(wait_for_peers=finished)


def _fit(cfg: TrainConfig, *, run_dir: Path, state: dict[str, Any] | None,
         progress: TrainProgress | None) -> Path:
    ctx, device = distributed.setup(resolve_device(cfg.device))
    if ctx.enabled and cfg.batch_size % ctx.world_size:
        raise FacemotionError(f"batch_size {cfg.batch_size} does not split over {ctx.world_size} processes; give a "
                              f"multiple of {ctx.world_size} (it is the effective batch of all processes together)")
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.init and state is None:  # a bad --init fails before the data is read
        from facemotion.training.init_weights import resolve_init

        resolve_init(cfg.init)
    data = load_training_data(cfg)
    train = data.train.subset(cfg.subset, seed=cfg.seed) if cfg.subset else data.train
    if len(train) == 0 or len(data.val) == 0:
        raise FacemotionError(f"{cfg.data}: training needs Training and PublicTest images "
                              f"(got {len(train)} and {len(data.val)})")
    names = data.label_names
    if data.notes and cfg.labels != list(names):  # your own data: the run records its label order
        cfg = dataclasses.replace(cfg, labels=list(names))

    torch.manual_seed(cfg.seed)
    init_info = None
    if cfg.init and state is None:
        from facemotion.training.init_weights import initial_model

        model, init_info = initial_model(cfg.init, names, torch.from_numpy(train.images[:, None]), freeze=cfg.freeze)
        if cfg.model != init_info["architecture"]:
            logger.info("--init %s is a %s: it sets the architecture (not %s)", cfg.init, init_info["architecture"],
                        cfg.model)
        cfg = dataclasses.replace(cfg, model=init_info["architecture"], model_kwargs=init_info["architecture_kwargs"])
    if len(names) != NUM_CLASSES and cfg.model_kwargs.get("num_classes") != len(names):
        cfg = dataclasses.replace(cfg, model_kwargs={**cfg.model_kwargs, "num_classes": len(names)})
    if init_info is None:
        source = run_dir / LAST if state is not None else "--model/--width/--depth"
        model = build_model(cfg.model, cfg.model_kwargs, source=source,
                            state_dict=state["state_dict"] if state is not None else None)
        if cfg.init and cfg.freeze:  # a resumed fine-tuning run keeps the same stages fixed
            from facemotion.models.finetune import freeze_stages

            freeze_stages(model, cfg.freeze)
    model = model.to(device)
    if cfg.channels_last and not channels_last_safe(model, device):
        logger.info("channels_last is off for %s on the CPU: torch's CPU backward of grouped convolutions in that "
                    "layout crashes", cfg.model)
        cfg = dataclasses.replace(cfg, channels_last=False)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, name=cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                momentum=cfg.momentum, body_lr=cfg.body_lr,
                                head=model.get_classifier() if cfg.init and cfg.body_lr != 1.0 else None)
    start_epoch, best_acc, best_epoch, bad_epochs = 1, -1.0, 0, 0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ModelError(f"{run_dir / LAST}: the optimizer state does not fit the model: {exc}") from exc
        start_epoch = state["epoch"] + 1
        best_acc, best_epoch, bad_epochs = state["best_val_accuracy"], state["best_epoch"], state["bad_epochs"]
        if ctx.is_main:
            truncate_metrics(run_dir, state["epoch"])
        logger.info("resuming %s after epoch %d (best val %.4f at epoch %d)", run_dir, state["epoch"], best_acc,
                    best_epoch)
    elif ctx.is_main:
        payload = _config_payload(cfg, data, model, device)
        payload["data"].update(data_record(data))
        if init_info is not None:
            payload["init"] = init_info
        write_config(run_dir, payload)
        write_skipped(run_dir, data)
    train_model = torch.nn.parallel.DistributedDataParallel(model) if ctx.enabled else model
    rank_cfg = dataclasses.replace(cfg, batch_size=cfg.batch_size // ctx.world_size)

    train_x, train_y = _to_device(train.images, train.labels, device)
    teacher = _teacher_targets(cfg, run_dir, train.images, names, resumed=state is not None, write=ctx.is_main)
    if isinstance(teacher, np.ndarray):
        teacher = torch.as_tensor(teacher, device=device)
    elif teacher is not None:
        teacher = teacher.to(device)
    val_x, val_y = _to_device(data.val.images[ctx.rank::ctx.world_size], data.val.labels[ctx.rank::ctx.world_size],
                              device)  # each rank scores its share of PublicTest
    weights_np = class_weight_vector(train.labels, cfg.class_weights, len(names))
    sample_weights = torch.as_tensor(class_weight_vector(train.labels, "balanced", len(names)), dtype=torch.float32,
                                     device=device) if cfg.balanced_sampling else None
    loss_weights = None if weights_np is None else torch.as_tensor(weights_np, dtype=torch.float32, device=device)
    steps = steps_per_epoch(len(train), cfg.batch_size)
    total_steps = steps * cfg.epochs
    warmup_steps = int(cfg.warmup_epochs * steps)
    report = progress if ctx.is_main else None

    def lr_for_step(step: int) -> float:
        return lr_at(step, total_steps, base_lr=cfg.lr, schedule=cfg.schedule, warmup_steps=warmup_steps)

    stopped_early = bool(state and state.get("stopped_early"))
    for epoch in range(start_epoch, cfg.epochs + 1):
        if stopped_early:
            break
        seed = epoch_seed(cfg.seed, epoch)
        torch.manual_seed(seed)
        gen = torch.Generator(device=device).manual_seed(seed)
        order = distributed.rank_order(_epoch_order(train_y, gen, cfg.balanced_sampling, sample_weights),
                                       cfg.batch_size, ctx)
        if ctx.enabled:  # the same order on every rank, its own augmentation draws
            gen.manual_seed(epoch_seed(seed, ctx.rank + 1))
        if report is not None:
            report.start_epoch(epoch, cfg.epochs, steps * rank_cfg.batch_size)
        train_metrics = train_one_epoch(train_model, optimizer, train_x, train_y, order, gen, rank_cfg,
                                        lr_for_step=lr_for_step, first_step=(epoch - 1) * steps,
                                        class_weights=loss_weights, teacher=teacher,
                                        progress=None if report is None else report.step)
        distributed.broadcast_buffers(model)
        val_metrics = distributed.average_metrics(evaluate_epoch(model, val_x, val_y, cfg), len(val_y))
        if report is not None:
            report.end_epoch(train_metrics, val_metrics)
        improved = val_metrics.accuracy > best_acc
        if improved:
            best_acc, best_epoch, bad_epochs = val_metrics.accuracy, epoch, 0
        if improved and ctx.is_main:
            save_atomic({**model_state(cfg.model, cfg.model_kwargs, model), "config": cfg.to_dict(),
                         "epoch": epoch, "val_accuracy": best_acc}, run_dir / BEST)
        if not improved:
            bad_epochs += 1
        stopped_early = cfg.patience > 0 and bad_epochs >= cfg.patience
        if not ctx.is_main:
            continue
        append_metrics(run_dir, {"epoch": epoch, "lr": lr_for_step(epoch * steps - 1),
                                 "train_loss": train_metrics.loss, "train_acc": train_metrics.accuracy,
                                 "val_loss": val_metrics.loss, "val_acc": val_metrics.accuracy,
                                 "seconds": train_metrics.seconds + val_metrics.seconds})
        save_atomic({**model_state(cfg.model, cfg.model_kwargs, model), "config": cfg.to_dict(),
                     "optimizer": optimizer.state_dict(), "epoch": epoch, "best_val_accuracy": best_acc,
                     "best_epoch": best_epoch, "bad_epochs": bad_epochs, "stopped_early": stopped_early},
                    run_dir / LAST)
        plot_curves(run_dir)
        logger.info("epoch %d/%d  train loss %.4f acc %.4f  val loss %.4f acc %.4f%s  (%.0f s)", epoch, cfg.epochs,
                    train_metrics.loss, train_metrics.accuracy, val_metrics.loss, val_metrics.accuracy,
                    "  *best*" if improved else "", train_metrics.seconds + val_metrics.seconds)
        if stopped_early:
            logger.info("early stop: no val improvement for %d epochs (best %.4f at epoch %d)", bad_epochs, best_acc,
                        best_epoch)
    return run_dir

