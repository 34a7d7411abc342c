from __future__ import annotations

import pytest

from facemotion.training import TrainConfig
from facemotion.training.optim import lr_at


def test_config_round_trip_and_validation() -> None:
    cfg = TrainConfig(data="d.csv", out="runs/x", model="vgg_s", epochs=3, mixup=0.2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        TrainConfig(data="d", out="o", optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"epochs must lie in \[1, inf\], got 0"):
        TrainConfig(data="d", out="o", epochs=0)
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_dict({**cfg.to_dict(), "colour": 1})


@pytest.mark.parametrize("setting, value, message", [
    ("lr", float("inf"), "lr must be a finite number, got inf"),
    ("weight_decay", float("nan"), "weight_decay must be a finite number"),
    ("warmup_epochs", float("inf"), "warmup_epochs must be a finite number"),
    ("cutmix", float("inf"), "cutmix must be a finite number"),
    ("lr", 1e300, r"lr must lie in \[0.0, 10.0\], got 1e\+300"),
    ("rotate", 720.0, r"rotate must lie in \[0.0, 180.0\]"),
    ("seed", -1, r"seed must lie in \[0, 4294967295\], got -1"),
    ("seed", 10**20, "seed must lie in"),
])
def test_number_settings_are_finite_and_in_their_range(setting: str, value: float, message: str) -> None:
    """inf trained to NaN and kept it as the best epoch; 1e300 overflowed in torch; seed -1 failed in numpy."""
    with pytest.raises(ValueError, match=message):
        TrainConfig(data="d", out="o", **{setting: value})


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


@pytest.mark.parametrize("setting", ["teacher", "init"])
def test_an_empty_model_name_is_refused_not_ignored(setting: str) -> None:
    with pytest.raises(ValueError, match=f"{setting} is empty: name a model"):
        TrainConfig(data="d", out="o", **{setting: " "})
