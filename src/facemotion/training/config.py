"""One TrainConfig, validated, saved in config.json and in every checkpoint so any run can be rebuilt and resumed.

It is the only place a training setting is declared: each field carries its help text, its range and choices and
whether ``facemotion train`` takes it (:func:`setting`), and the command's options and the model card's command
line are both built from these fields. Only the standard library (and the tier names of :mod:`facemotion.tiers`)
is imported, so the command line can read the
fields without torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from facemotion.defaults import DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION, FACE_MODES
from facemotion.tiers import PACKAGED_MODELS

__all__ = ["TrainConfig", "setting", "option_name", "command_line"]


def setting(default: Any = dataclasses.MISSING, *, help: str = "", cli: bool = True, flag: Optional[str] = None,
            choices: Optional[tuple[str, ...]] = None, min: Optional[float] = None, max: Optional[float] = None,
            card: str = "always", default_factory: Any = dataclasses.MISSING) -> Any:
    """A ``TrainConfig`` field with what the command line needs to know of it.

    Args:
        help: the option's help text.
        cli: whether ``facemotion train`` takes it as an option (else its default holds there).
        flag: the option's name when it is not the field's (``--arch`` for ``model``).
        choices: the values allowed, checked by the config and listed in the help.
        min, max: the range of a number setting, enforced by the config (``__post_init__``) and the command line.
        card: ``always`` spelled out in the model card's command line, or ``when_set`` (differs from the default).
    """
    metadata = {"help": help, "cli": cli, "flag": flag, "choices": choices, "min": min, "max": max, "card": card}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _check_range(f: dataclasses.Field, value: Any) -> None:
    """A number setting is finite and within its field's ``min``/``max`` (the range the command line enforces too):
    ``lr=inf`` trained to NaN and saved it as the best epoch, ``seed=-1`` failed in numpy."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise ValueError(f"{f.name} must be a finite number, got {value}")
    low, high = f.metadata.get("min"), f.metadata.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{f.name} must lie in {bounds}, got {value}")


_OWN_DATA = "Your own images"
_TIERS = ", ".join(PACKAGED_MODELS)


@dataclass
class TrainConfig:
    """Every setting of a training run. Defaults are the recipe of the shipped CPU model."""

    data: str = setting(help="FER2013 (CSV, folders, packed .npz) or your own images: DIR/<label>/*, "
                             "DIR/{train,val[,test]}/<label>/*, or a path,label[,split] CSV manifest.")
    out: str = setting(help="Run directory for config.json, metrics.csv, checkpoints.")
    model: str = setting("vgg_m", flag="arch", help="The architecture to train: a registered model name (see "
                                                    "`facemotion models`).")
    model_kwargs: dict[str, Any] = setting(default_factory=dict, cli=False,
                                           help="Architecture arguments (width, depth, dropout, num_classes).")
    epochs: int = setting(40, min=1)
    batch_size: int = setting(128, min=1)
    optimizer: str = setting("sgd", choices=("sgd", "adamw"), help="sgd (Nesterov) or adamw.")
    lr: float = setting(0.1, min=0.0, max=10.0)
    momentum: float = setting(0.9, cli=False, min=0.0, max=0.999)
    weight_decay: float = setting(5e-4, min=0.0, max=1.0)
    schedule: str = setting("onecycle", choices=("onecycle", "cosine", "constant"),
                            help="onecycle, cosine or constant.")
    warmup_epochs: float = setting(2.0, min=0.0, max=1e4)
    label_smoothing: float = setting(0.1, min=0.0, max=0.99)
    class_weights: str = setting("none", choices=("none", "balanced", "sqrt"),
                                 help="Loss weights per class: none, balanced or sqrt.")
    balanced_sampling: bool = setting(False, help="Draw each batch class-balanced instead of shuffling.")
    shift: float = setting(0.1, min=0.0, max=0.5, help="Random shift, fraction of the image size.")
    rotate: float = setting(15.0, min=0.0, max=180.0, help="Random rotation, degrees.")
    scale: float = setting(0.15, min=0.0, max=0.9, help="Random zoom, 1 +- scale.")
    flip: bool = setting(True, help="Random horizontal flip.")
    erase: float = setting(0.5, min=0.0, max=0.99, help="Random erasing probability.")
    mixup: float = setting(0.0, min=0.0, max=100.0, help="Mixup alpha (0 = off).")
    cutmix: float = setting(0.0, min=0.0, max=100.0, help="CutMix alpha (0 = off).")
    sam: float = setting(0.0, min=0.0, max=10.0, help="Sharpness-aware minimisation radius rho, e.g. 0.05 (0 = off); "
                                                       "each step then costs two passes.")
    teacher: Optional[str] = setting(None, help=f"Distil from this model ({_TIERS}, .onnx, .pt): its "
                                                "probabilities on the training images become soft targets.")
    distill: float = setting(0.5, min=0.0, max=1.0,
                             help="Weight of the teacher's probabilities in the targets (with --teacher).")
    teacher_views: int = setting(0, min=0, card="when_set",
                                 help="With --teacher: score each training image under this many fixed random views "
                                      "and train on those views, so the targets describe what the student sees "
                                      "(0 = the un-augmented image's targets).")
    seed: int = setting(0, min=0, max=2**32 - 1)
    subset: int = setting(0, min=0, help="Train on this many training images (0 = all), for quick checks.")
    patience: int = setting(0, min=0, help="Stop after this many epochs without val improvement (0 = never).")
    device: str = setting("auto", choices=("auto", "cpu", "cuda"), help="auto, cpu or cuda.")
    bf16: bool = setting(True, cli=False)
    channels_last: bool = setting(True, cli=False)
    threads: int = setting(0, min=0, help="CPU threads for torch (0 = torch's default).")
    eval_batch_size: int = setting(512, cli=False, min=1)
    labels: Optional[list[str]] = setting(None, help="Your own data's label order, comma-separated (default: "
                                                     "sorted label names).")
    """Your own data's label order (default: sorted names); FER2013's seven for FER2013."""
    val_fraction: float = setting(DEFAULT_VAL_FRACTION, min=0.0, max=0.9, card="when_set",
                                  help=f"{_OWN_DATA} without a split: share drawn for val (stratified, by --seed).")
    test_fraction: float = setting(DEFAULT_TEST_FRACTION, min=0.0, max=0.9, card="when_set", help="... and for test.")
    faces: str = setting(FACE_MODES[0], choices=FACE_MODES, card="when_set",
                         help=f"{_OWN_DATA}: given (each is a face crop) or detect (find and align the face as "
                              f"predict does).")
    skip_bad: bool = setting(False, card="when_set", help="Leave out unreadable files (listed in the run's "
                                                          "skipped.csv) instead of stopping.")
    init: Optional[str] = setting(None, help=f"Fine-tune from {_TIERS}, an .onnx or a .pt (an ensemble: its "
                                             "best member, or member K with NAME[K]); another label set gets a new "
                                             "head.")
    """Start from these weights: ``default``, ``fast``, ``accurate``, an exported ``.onnx`` or a ``.pt``."""
    freeze: int = setting(0, min=0, card="when_set", help="With --init: body stages kept fixed, from the input.")
    """Body stages kept fixed, counted from the input (fine-tuning)."""
    body_lr: float = setting(1.0, min=0.0, max=100.0, card="when_set",
                             help="With --init: the body's learning rate as a fraction of --lr.")
    """The body's learning rate as a fraction of ``lr`` (the new head always takes ``lr``)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(f"{f.name}={getattr(self, f.name)!r} is not one of {', '.join(choices)}")
            _check_range(f, getattr(self, f.name))
        if self.labels is not None:
            from facemotion.labels import check_labels

            self.labels = list(check_labels(self.labels, source="labels"))
        for name in ("teacher", "init"):
            if getattr(self, name) is not None and not str(getattr(self, name)).strip():
                raise ValueError(f"{name} is empty: name a model ({_TIERS}, an .onnx or a .pt), or leave it out")
        if self.teacher_views and not self.teacher:
            raise ValueError("teacher_views applies to distillation: give teacher too")
        if (self.freeze or self.body_lr != 1.0) and not self.init:
            raise ValueError(f"freeze and body_lr apply to fine-tuning: give init ({_TIERS}, a .onnx or .pt)")

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


def option_name(f: dataclasses.Field) -> str:
    """The ``facemotion train`` option of a field, without dashes: ``arch`` for ``model``, ``batch-size``..."""
    return (f.metadata.get("flag") or f.name).replace("_", "-")


def command_line(config: dict[str, Any]) -> str:
    """The ``facemotion train`` command that rebuilds a saved config (a checkpoint's ``config``), for model cards.

    The recipe's settings are spelled out whatever their value (a later default must not change what the card
    says was run); your own data's and fine-tuning's only where they differ from the default; ``distill`` only
    with a teacher; the architecture's arguments (``--width``...) after them.
    """
    parts = [f"--data {config.get('data')}", f"--out {config.get('out')}"]
    for f in dataclasses.fields(TrainConfig):
        value = config.get(f.name)
        if not f.metadata.get("cli") or f.name in ("data", "out") or value is None:
            continue
        if f.name in ("distill", "teacher_views") and not config.get("teacher"):
            continue
        if f.metadata.get("card") == "when_set" and value == f.default:
            continue
        parts.append(_flag(option_name(f), value))
    for name, value in (config.get("model_kwargs") or {}).items():
        if name != "num_classes":
            parts.append(_flag(name.replace("_", "-"), value))
    return " ".join(["facemotion train", *parts])


def _flag(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"--{'' if value else 'no-'}{name}"
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"--{name} {value}"
