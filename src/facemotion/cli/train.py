"""``facemotion train``: its options are ``TrainConfig``'s fields, generated from them, so each setting (its name,
default, range, help) is declared once, in :mod:`facemotion.training.config`.

The options default to None: a setting the user did not give is left out, and the dataclass default holds (as
timm's ``create_model`` drops None keyword arguments). torch is imported inside the command only.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from facemotion.cli._common import (
    CPU_COUNT,
    deprecated_alias,
    describe_os_error,
    exit_on_error,
    fail,
    require_torch,
    setup_logging,
)
from facemotion.cli._progress import train_progress
from facemotion.cli.app import app
from facemotion.errors import FacemotionError
from facemotion.training.config import TrainConfig, option_name

__all__ = ["train", "settings_from_options"]

TRAIN_HELP = """Train a model on FER2013 Training (or your own images), selecting the best epoch on PublicTest (val).

Examples:

  facemotion train --data fer2013.csv.gz --arch vgg_m --epochs 40 --out runs/vgg_m

  facemotion train --data faces/ --init default --epochs 10 --out runs/mine   # your own data

  facemotion train --resume runs/vgg_m                                          # after Ctrl-C or a crash"""

_MODEL_KWARGS = {  # the architecture's own arguments, gathered into TrainConfig.model_kwargs
    "dropout": (Optional[float], typer.Option(None, min=0.0, max=0.99, help="Head dropout (model default if "
                                                                                "unset).")),
    "width": (Optional[int], typer.Option(None, min=1, help="Model width (model default if unset).")),
    "depth": (Optional[int], typer.Option(None, min=1, help="Convs per stage, VGG family (model default if "
                                                            "unset).")),
}
_RUN = {  # how this command runs, not settings of the run
    "resume": (Optional[Path], typer.Option(None, help="Continue the run in this directory from its last.pt (with "
                                                       "its saved settings; only --threads may change).")),
    "progress": (bool, typer.Option(True, help="Show a live progress bar.")),
    "nproc": (int, typer.Option(1, min=1, help="Train on N local processes with DDP (gloo on the CPU, NCCL on "
                                               "CUDA); --batch-size is the batch of all N together. For several "
                                               "machines run this command under torchrun instead.")),
    "model": (Optional[str], typer.Option(None, "--model", hidden=True, help="Deprecated spelling of --arch.")),
}
_OVERRIDES: dict[str, dict[str, Any]] = {  # command-line limits of this machine
    "threads": {"max": CPU_COUNT, "clamp": True,
                "help": f"CPU threads for torch (0 = torch's default; at most the CPU count, {CPU_COUNT} here)."},
}


def _cli_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli")]


def _option(f: dataclasses.Field, hint: Any) -> tuple[Any, Any]:
    """The annotation and ``typer.Option`` of one field; default None, the field's default shown in the help."""
    meta = {**f.metadata, **_OVERRIDES.get(f.name, {})}
    kind = next((a for a in typing.get_args(hint) if a is not type(None)), hint)  # Optional[X] -> X
    if f.name in ("data", "out"):
        kind = Path
    elif typing.get_origin(kind) is list:
        kind = str  # comma-separated
    name = option_name(f)
    default = f.default if f.default is not dataclasses.MISSING else None
    if kind is bool:
        decls = [f"--{name}/--no-{name}"]
        shown: Any = f"--{'' if default else 'no-'}{name}"
    else:
        decls = [f"--{name}"]
        shown = False if default is None else str(default)
    limits = {k: meta[k] for k in ("min", "max", "clamp") if meta.get(k) is not None}
    return Optional[kind], typer.Option(None, *decls, help=meta.get("help") or None, show_default=shown, **limits)


def _parameters() -> list[inspect.Parameter]:
    hints = typing.get_type_hints(TrainConfig)
    params = []
    for f in _cli_fields():
        annotation, option = _option(f, hints[f.name])
        params.append(inspect.Parameter(option_name(f).replace("-", "_"), inspect.Parameter.KEYWORD_ONLY,
                                        default=option, annotation=annotation))
        if f.name == "model":
            params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
                       for name, (kind, option) in _MODEL_KWARGS.items()]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
               for name, (kind, option) in _RUN.items()]
    return params


def settings_from_options(options: dict[str, Any]) -> TrainConfig:
    """The ``TrainConfig`` of the options given (keyed by parameter name); one not given (None) keeps the
    dataclass default. A setting the config refuses (``--freeze`` without ``--init``...) is a FacemotionError."""
    given: dict[str, Any] = {}
    for f in _cli_fields():
        value = options.get(option_name(f).replace("-", "_"))
        if value is None:
            continue
        if f.name in ("data", "out"):
            value = str(value)
        elif f.name == "labels":
            value = [n.strip() for n in value.split(",")]
        given[f.name] = value
    model_kwargs = {k: options[k] for k in _MODEL_KWARGS if options.get(k) is not None}
    if model_kwargs:
        given["model_kwargs"] = model_kwargs
    try:
        return TrainConfig(**given)
    except (TypeError, ValueError) as exc:
        raise FacemotionError(f"train: {exc}") from exc


def resume_threads(options: dict[str, Any]) -> Optional[int]:
    """The ``--threads`` a resumed run takes (None: its own); any other setting given is refused, since a resumed
    run must end where the uninterrupted one would have, while the thread count only sets the speed."""
    given = sorted(f"--{option_name(f)}" for f in _cli_fields()
                   if f.name != "threads" and options.get(option_name(f).replace("-", "_")) is not None)
    given += sorted(f"--{name}" for name in _MODEL_KWARGS if options.get(name) is not None)
    if given:
        fail(f"--resume continues the run with its saved settings; leave out {', '.join(given)} "
             "(only --threads, --nproc and --progress apply)")
    return options.get("threads")


def train(**options: Any) -> None:
    """Train a model (the help shown is TRAIN_HELP; the options are TrainConfig's fields)."""
    setup_logging(False)
    require_torch("facemotion train")
    options["arch"] = deprecated_alias("--arch", "--model", options["arch"], options.pop("model"))
    resume, progress, nproc = options.pop("resume"), options.pop("progress"), options.pop("nproc")
    with exit_on_error(interrupted="interrupted; continue with --resume", os_error=describe_os_error):
        if resume is not None:
            threads = resume_threads(options)
            if nproc > 1:
                _train_nproc(None, nproc, resume=resume, progress=progress, threads=threads)
                return
            from facemotion.training import resume as resume_run

            run_dir = resume_run(resume, progress=train_progress(progress), threads=threads)
        else:
            if options["data"] is None or options["out"] is None:
                fail("--data and --out are required (or --resume RUN_DIR)")
            cfg = settings_from_options(options)
            if nproc > 1:
                _train_nproc(cfg, nproc, resume=None, progress=progress)
                return
            from facemotion.training import fit

            run_dir = fit(cfg, progress=train_progress(progress))
    typer.echo(f"run directory: {run_dir}")


def _train_nproc(cfg: Optional[TrainConfig], nproc: int, *, resume: Optional[Path], progress: bool,
                 threads: Optional[int] = None) -> None:
    """``--nproc N``: the same training in N processes started by ``torch.distributed.run``; exits with their code."""
    import os

    from facemotion.training.distributed import check_nproc, ddp_timeout, launch_local

    if "WORLD_SIZE" in os.environ:
        fail("--nproc is for a single command; under torchrun leave it out (torchrun starts the processes)")
    ddp_timeout()  # here, once, rather than in every process it starts
    if resume is not None:  # the device is the resumed run's
        from facemotion.training.fit import resume_config

        check_nproc(nproc, resume_config(resume).device)
    else:
        assert cfg is not None
        check_nproc(nproc, cfg.device)
    code = launch_local({"config": None if cfg is None else cfg.to_dict(),
                         "resume": None if resume is None else str(resume), "threads": threads,
                         "progress": progress}, nproc)
    if code:
        raise typer.Exit(code)


train.__signature__ = inspect.Signature(_parameters(), return_annotation=None)  # type: ignore[attr-defined]
train.__annotations__ = {p.name: p.annotation for p in train.__signature__.parameters.values()}  # type: ignore
app.command("train", help=TRAIN_HELP)(train)
