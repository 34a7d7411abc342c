"""One training epoch and one evaluation pass, each returning its metrics."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from facemotion.labels import NUM_CLASSES
from facemotion.training import augment, distributed, sam
from facemotion.training.config import TrainConfig
from facemotion.training.distill import blend_targets
from facemotion.training.optim import set_lr, steps_per_epoch
from facemotion.training.teacher_views import TeacherViews

__all__ = ["EpochMetrics", "TrainProgress", "train_one_epoch", "predict_logits", "evaluate_epoch",
           "soft_cross_entropy"]

PROGRESS_EVERY = 10
"""Steps between progress reports."""


@dataclass(frozen=True)
class EpochMetrics:
    loss: float
    accuracy: float
    seconds: float


class TrainProgress(Protocol):
    """What :func:`~facemotion.training.fit.fit` reports while it trains, for a live display (the CLI's tqdm bar):
    training itself draws nothing. Under DDP only the main process reports."""

    def start_epoch(self, epoch: int, epochs: int, images: int) -> None:
        """Epoch ``epoch`` of ``epochs`` begins; it trains on ``images`` images (this process's share)."""

    def step(self, new_images: int, loss: float, accuracy: float) -> None:
        """``new_images`` more were trained on; the epoch's running mean loss and accuracy so far."""

    def end_epoch(self, train: EpochMetrics, val: EpochMetrics) -> None:
        """The epoch's training and PublicTest metrics."""


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *, smoothing: float = 0.0,
                       class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against soft targets (one-hot, mixed, smoothed or distilled), optionally class-weighted: each
    sample's weight is its targets' mass on each class times that class's weight (its label's weight when one-hot)."""
    k = logits.shape[1]
    if smoothing:
        targets = targets * (1 - smoothing) + smoothing / k
    loss = -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if class_weights is not None:
        weights = targets @ class_weights
        return (loss * weights).sum() / weights.sum()
    return loss.mean()


def _autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _prepare(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = x.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def augment_batch(x: torch.Tensor, targets: torch.Tensor, gen: torch.Generator, cfg: TrainConfig, *,
                  geometry: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The configured augmentations, in order: geometry, flip, erasing, then mixup or cutmix (one per batch).

    ``geometry=False`` leaves out the geometry and the flip, for a batch already seen through the teacher's views.
    """
    if geometry and (cfg.rotate or cfg.scale or cfg.shift):
        x = augment.random_affine(x, gen, rotate=cfg.rotate, scale=cfg.scale, shift=cfg.shift)
    if geometry and cfg.flip:
        x = augment.random_hflip(x, gen)
    if cfg.erase:
        x = augment.random_erase(x, gen, p=cfg.erase)
    if cfg.mixup or cfg.cutmix:
        use_cutmix = cfg.cutmix > 0 and (cfg.mixup == 0 or bool(torch.rand(1, generator=gen, device=gen.device) < 0.5))
        x, targets = (augment.cutmix(x, targets, gen, cfg.cutmix) if use_cutmix
                      else augment.mixup(x, targets, gen, cfg.mixup))
    return x, targets


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor,
                    order: torch.Tensor, gen: torch.Generator, cfg: TrainConfig, *,
                    lr_for_step: Callable[[int], float], first_step: int,
                    class_weights: torch.Tensor | None = None,
                    teacher: torch.Tensor | TeacherViews | None = None,
                    progress: Callable[[int, float, float], None] | None = None) -> EpochMetrics:
    """One pass over ``order`` (indices into the on-device uint8 ``images``), batch-wise augmented on the device.

    ``teacher`` holds a teacher's probabilities for every image of ``images``, blended into the targets with weight
    ``cfg.distill``; or, as :class:`~facemotion.training.teacher_views.TeacherViews`, fixed views of every image
    and its probabilities for each: each image is then seen through one of its views instead of a fresh geometry.
    ``progress(new_images, loss, accuracy)`` gets the images since its last call and the epoch's running means,
    every ``PROGRESS_EVERY`` steps and after the last, for a live bar: reading a loss off a GPU waits for it, so not
    every step. With ``cfg.sam`` each step descends along the gradient taken at the weights moved ``cfg.sam`` uphill
    (:mod:`~facemotion.training.sam`); the loss and accuracy reported are the first pass's.
    """
    model.train()
    device = images.device
    start = time.perf_counter()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    seen = 0
    shown = 0  # images already passed to ``progress``
    num_classes = getattr(getattr(model, "module", model), "num_classes", NUM_CLASSES)  # through a DDP wrapper
    steps = steps_per_epoch(len(order), cfg.batch_size)
    viewed = isinstance(teacher, TeacherViews)  # each image through one of its fixed views, not a fresh geometry
    for i, step in enumerate(range(first_step, first_step + steps)):
        idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
        x = images[idx].float()
        y = labels[idx]
        if viewed:
            x, soft = teacher.apply(x, idx, gen)
        else:
            soft = None if teacher is None else teacher[idx]
        targets = blend_targets(augment.one_hot(y, num_classes), soft, cfg.distill)
        x, targets = augment_batch(x, targets, gen, cfg, geometry=not viewed)
        set_lr(optimizer, lr_for_step(step))
        x = _prepare(x, cfg.channels_last)
        with _autocast(device, cfg.bf16):
            logits = model(x)
        loss = soft_cross_entropy(logits, targets, smoothing=cfg.label_smoothing, class_weights=class_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.sam:
            with sam.ascended(model, cfg.sam), sam.norm_statistics_frozen(model):
                optimizer.zero_grad(set_to_none=True)
                with _autocast(device, cfg.bf16):
                    sharp_logits = model(x)
                soft_cross_entropy(sharp_logits, targets, smoothing=cfg.label_smoothing,
                                   class_weights=class_weights).backward()
        optimizer.step()
        total_loss += loss.detach() * len(idx)
        correct += (logits.argmax(1) == y).sum()
        seen += len(idx)
        if progress is not None and ((i + 1) % PROGRESS_EVERY == 0 or i + 1 == steps):
            progress(seen - shown, float(total_loss) / seen, float(correct) / seen)
            shown = seen
    total_loss, correct, seen_all = distributed.all_sum(total_loss, correct, torch.tensor(float(seen), device=device))
    return EpochMetrics(float(total_loss) / float(seen_all), float(correct) / float(seen_all),
                        time.perf_counter() - start)  # over all ranks under DDP


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, *, batch_size: int = 512, channels_last: bool = True,
                   bf16: bool = False) -> torch.Tensor:
    """Logits for every image of the ``(N, 1, 48, 48)`` tensor (uint8, or float 0-255 views), in eval mode, in
    batches."""
    model.eval()
    outs = []
    for i in range(0, images.shape[0], batch_size):
        with _autocast(images.device, bf16):
            outs.append(model(_prepare(images[i:i + batch_size], channels_last)).float())
    return torch.cat(outs) if outs else torch.zeros(0, getattr(model, "num_classes", NUM_CLASSES), device=images.device)


def evaluate_epoch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: TrainConfig) -> EpochMetrics:
    """Loss and accuracy on a held-out split (no augmentation, no smoothing)."""
    start = time.perf_counter()
    logits = predict_logits(model, images, batch_size=cfg.eval_batch_size, channels_last=cfg.channels_last,
                            bf16=cfg.bf16)
    loss = float(F.cross_entropy(logits, labels))
    accuracy = float((logits.argmax(1) == labels).float().mean())
    return EpochMetrics(loss, accuracy, time.perf_counter() - start)
