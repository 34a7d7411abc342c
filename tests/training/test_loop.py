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


def test_class_weighted_loss_is_torchs_weighted_cross_entropy_on_hard_labels() -> None:
    import torch.nn.functional as F

    from facemotion.training import augment
    from facemotion.training.loop import soft_cross_entropy

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(12, 7, generator=gen)
    labels = torch.tensor([0, 1, 1, 2, 3, 3, 3, 4, 5, 6, 6, 0])
    weights = torch.tensor([1.0, 3.0, 0.5, 2.0, 1.0, 4.0, 0.25])
    targets = augment.one_hot(labels, 7)
    weighted = soft_cross_entropy(logits, targets, class_weights=weights)
    assert float(weighted) == pytest.approx(float(F.cross_entropy(logits, labels, weight=weights)), rel=1e-6)
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    by_hand = (per_sample * weights[labels]).sum() / weights[labels].sum()
    assert float(weighted) == pytest.approx(float(by_hand), rel=1e-6)
    assert float(soft_cross_entropy(logits, targets, class_weights=torch.ones(7))) == pytest.approx(
        float(soft_cross_entropy(logits, targets)), rel=1e-6)  # equal weights: the plain mean


def test_class_weighted_loss_weighs_mixed_targets_by_their_mass() -> None:
    from facemotion.training.loop import soft_cross_entropy

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
    targets = torch.tensor([[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]])  # a mixup pair and a one-hot sample
    weights = torch.tensor([1.0, 5.0, 2.0])
    ce = -(targets * torch.log_softmax(logits, 1)).sum(1)
    sample_weights = torch.tensor([0.75 * 1.0 + 0.25 * 5.0, 2.0])
    expected = (ce * sample_weights).sum() / sample_weights.sum()
    assert float(soft_cross_entropy(logits, targets, class_weights=weights)) == pytest.approx(float(expected))


def test_class_weight_vectors() -> None:
    import numpy as np

    from facemotion.training.fit import class_weight_vector

    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    balanced = class_weight_vector(labels, "balanced", 4)
    # N / (K * n_c): 100 / (4 * 60), 100 / (4 * 30), 100 / (4 * 10); an empty class counts as one image
    np.testing.assert_allclose(balanced, [100 / 240, 100 / 120, 100 / 40, 100 / 4])
    np.testing.assert_allclose(class_weight_vector(labels, "sqrt", 4), np.sqrt(balanced))
    assert class_weight_vector(labels, "none", 4) is None
    assert (balanced[:3] * [60, 30, 10]).tolist() == pytest.approx([25.0] * 3)  # every present class weighs the same


def test_a_sam_step_descends_along_the_gradient_taken_uphill_and_counts_the_batch_once() -> None:
    import copy

    import torch.nn.functional as F

    torch.manual_seed(0)
    rho, lr = 0.05, 0.1
    cfg = TrainConfig(data="unused", out="unused", model="vgg_s", model_kwargs={"width": 8, "dropout": 0.0},
                      batch_size=8, lr=lr, rotate=0, scale=0, shift=0, erase=0, flip=False, bf16=False,
                      channels_last=False, label_smoothing=0.0, sam=rho)
    images = torch.randint(0, 256, (8, 1, 48, 48), dtype=torch.uint8)
    labels = torch.randint(0, 7, (8,))
    model = create_model(cfg.model, **cfg.model_kwargs)
    by_hand = copy.deepcopy(model)
    plain = copy.deepcopy(model)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_one_epoch(model, optimizer, images, labels, torch.arange(8), torch.Generator().manual_seed(0), cfg,
                    lr_for_step=lambda step: lr, first_step=0)

    by_hand.train()
    params = list(by_hand.parameters())
    x = images.float()
    grads = torch.autograd.grad(F.cross_entropy(by_hand(x), labels), params)
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    start = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.add_(rho * g / norm)
    sharp = torch.autograd.grad(F.cross_entropy(by_hand(x), labels), params)
    for (name, got), w, g in zip(model.named_parameters(), start, sharp):
        torch.testing.assert_close(got, w - lr * g, rtol=1e-4, atol=1e-6, msg=name)
    plain.train()
    plain(x)  # one plain forward: the running statistics of counting the batch once, not twice
    for name, value in plain.state_dict().items():
        if "running" in name:
            torch.testing.assert_close(model.state_dict()[name], value, msg=name)
