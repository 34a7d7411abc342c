from __future__ import annotations

import pytest
import torch

from facemotion.models import create_model
from facemotion.training import TrainConfig
from facemotion.training.loop import PROGRESS_EVERY, train_one_epoch
from facemotion.training.optim import build_optimizer


def test_progress_reports_cover_the_epoch_and_end_on_its_means() -> None:
    torch.manual_seed(0)
    steps = PROGRESS_EVERY * 2 + 3  # two full reports and a partial one at the end
    cfg = TrainConfig(data="unused", out="unused", model="vgg_s", model_kwargs={"width": 8}, batch_size=4, lr=0.01,
                      rotate=0, scale=0, shift=0, erase=0, flip=False, bf16=False, channels_last=False)
    images = torch.randint(0, 256, (steps * cfg.batch_size, 1, 48, 48), dtype=torch.uint8)
    labels = torch.randint(0, 7, (len(images),))
    model = create_model(cfg.model, **cfg.model_kwargs)
    calls: list[tuple[int, float, float]] = []
    optimizer = build_optimizer(model, name="sgd", lr=cfg.lr, weight_decay=0.0)
    metrics = train_one_epoch(model, optimizer, images, labels, torch.arange(len(images)),
                              torch.Generator().manual_seed(0), cfg, lr_for_step=lambda step: cfg.lr, first_step=0,
                              progress=lambda n, loss, acc: calls.append((n, loss, acc)))
    sizes = [n for n, _, _ in calls]
    assert sizes == [PROGRESS_EVERY * cfg.batch_size] * 2 + [3 * cfg.batch_size]
    assert calls[-1][1:] == pytest.approx((metrics.loss, metrics.accuracy), rel=1e-6)  # the epoch's running means
