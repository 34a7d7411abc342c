"""One TrainConfig, validated, saved in config.json and in every checkpoint so any run can be rebuilt and resumed."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TrainConfig"]

_CHOICES = {
    "optimizer": ("sgd", "adamw"),
    "schedule": ("onecycle", "cosine", "constant"),
    "class_weights": ("none", "balanced", "sqrt"),
    "device": ("auto", "cpu", "cuda"),
    "faces": ("given", "detect"),
}


@dataclass
class TrainConfig:
    """Every setting of a training run. Defaults are the recipe of the shipped CPU model."""

    data: str
    out: str
    model: str = "vgg_m"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 40
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    class_weights: str = "none"
    balanced_sampling: bool = False
    shift: float = 0.1
    rotate: float = 15.0
    scale: float = 0.15
    flip: bool = True
    erase: float = 0.5
    mixup: float = 0.0
    cutmix: float = 0.0
    teacher: str | None = None
    distill: float = 0.5
    seed: int = 0
    subset: int = 0
    patience: int = 0
    device: str = "auto"
    bf16: bool = True
    channels_last: bool = True
    threads: int = 0
    eval_batch_size: int = 512
    labels: list[str] | None = None
    """Your own data's label order (default: sorted names); FER2013's seven for FER2013."""
    val_fraction: float = 0.1
    test_fraction: float = 0.0
    faces: str = "given"
    skip_bad: bool = False
    init: str | None = None
    """Start from these weights: ``default``, ``fast``, ``accurate``, an exported ``.onnx`` or a ``.pt``."""
    freeze: int = 0
    """Body stages kept fixed, counted from the input (fine-tuning)."""
    body_lr: float = 1.0
    """The body's learning rate as a fraction of ``lr`` (the new head always takes ``lr``)."""

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "weight_decay", "shift", "rotate", "scale", "mixup", "cutmix", "subset", "patience",
                     "threads", "warmup_epochs", "freeze", "body_lr"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.distill <= 1:
            raise ValueError(f"distill must lie in [0, 1], got {self.distill}")
        if self.labels is not None:
            from facemotion.labels import check_labels

            self.labels = list(check_labels(self.labels, source="labels"))
        if (self.freeze or self.body_lr != 1.0) and not self.init:
            raise ValueError("freeze and body_lr apply to fine-tuning: give init (default, fast, a .onnx or .pt)")
        for name in ("label_smoothing", "erase", "val_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Rebuild from a dict, refusing keys this version does not know rather than dropping them silently."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        return cls.from_dict(data["config"] if "config" in data else data)
