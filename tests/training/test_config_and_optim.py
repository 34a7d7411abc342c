from __future__ import annotations

import pytest

from facemotion.training import TrainConfig
from facemotion.training.optim import lr_at


def test_config_round_trip_and_validation() -> None:
    cfg = TrainConfig(data="d.csv", out="runs/x", model="vgg_s", epochs=3, mixup=0.2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        TrainConfig(data="d", out="o", optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        TrainConfig(data="d", out="o", epochs=0)
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_dict({**cfg.to_dict(), "colour": 1})


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_schedules_warm_up_peak_and_decay(schedule: str) -> None:
    lrs = [lr_at(s, 100, base_lr=0.1, schedule=schedule, warmup_steps=10) for s in range(101)]
    assert lrs[0] < 0.01 and max(lrs) == pytest.approx(0.1) and lrs[10] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[100] < 1e-4


def test_constant_schedule_holds_the_base_rate_after_warm_up() -> None:
    lrs = [lr_at(s, 100, base_lr=1e-4, schedule="constant", warmup_steps=0) for s in range(101)]
    assert lrs == [pytest.approx(1e-4)] * 101
    warmed = [lr_at(s, 100, base_lr=1e-4, schedule="constant", warmup_steps=10) for s in range(20)]
    assert warmed[0] == 0.0 and warmed[5] == pytest.approx(5e-5) and warmed[10:] == [pytest.approx(1e-4)] * 10
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(data="d", out="o", schedule="step")
