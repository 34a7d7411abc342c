"""The ``facemotion`` command: one verb per job, each a thin call into the library."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

from facemotion.cli._common import CPU_COUNT
from facemotion.errors import FacemotionError

__all__ = ["app", "main"]

app = typer.Typer(
    name="facemotion",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Recognise the emotion on every face, and train the models that do it.\n\n"
         "Examples:\n\n"
         "  facemotion models\n\n"
         "  facemotion train --data fer2013.csv.gz --model vgg_m --epochs 40 --out runs/vgg_m\n\n"
         "  facemotion evaluate --data fer2013.csv.gz --weights runs/vgg_m/best.pt --split val --out runs/vgg_m/eval",
)


def _setup_logging(verbose: bool) -> None:
    """facemotion's own messages on stderr, debug lines with ``verbose``; other libraries' loggers are left alone
    (a root logger at DEBUG would print Pillow's PNG chunk chatter). Safe to call once per command invocation."""
    logger = logging.getLogger("facemotion")
    for handler in [h for h in logger.handlers if getattr(h, "_facemotion_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)  # this invocation's stderr (tests swap it per run)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._facemotion_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def models() -> None:
    """List the registered models with parameters and MACs for a 48x48 input (needs the train extra)."""
    from facemotion.models import count_macs, count_parameters, create_model, list_models, model_description

    typer.echo(f"{'name':<20}{'params':>12}{'MACs':>12}  description")
    for name in list_models():
        model = create_model(name)
        typer.echo(f"{name:<20}{count_parameters(model):>12,}{count_macs(model) / 1e6:>11.1f}M  "
                   f"{model_description(name)}")


@app.command()
def train(
    data: Optional[Path] = typer.Option(None, help="FER2013 (CSV, folders, packed .npz) or your own images: "
                                        "DIR/<label>/*, DIR/{train,val[,test]}/<label>/*, or a path,label[,split] "
                                        "CSV manifest."),
    out: Optional[Path] = typer.Option(None, help="Run directory for config.json, metrics.csv, checkpoints."),
    model: str = typer.Option("vgg_m", help="Registered model name (see `facemotion models`)."),
    epochs: int = typer.Option(40, min=1),
    batch_size: int = typer.Option(128, min=1),
    optimizer: str = typer.Option("sgd", help="sgd (Nesterov) or adamw."),
    lr: float = typer.Option(0.1, min=0.0),
    weight_decay: float = typer.Option(5e-4, min=0.0),
    schedule: str = typer.Option("onecycle", help="onecycle, cosine or constant."),
    warmup_epochs: float = typer.Option(2.0, min=0.0),
    label_smoothing: float = typer.Option(0.1, min=0.0, max=0.99),
    dropout: Optional[float] = typer.Option(None, min=0.0, max=0.99, help="Head dropout (model default if unset)."),
    width: Optional[int] = typer.Option(None, min=1, help="Model width (model default if unset)."),
    depth: Optional[int] = typer.Option(None, min=1, help="Convs per stage, VGG family (model default if unset)."),
    class_weights: str = typer.Option("none", help="Loss weights per class: none, balanced or sqrt."),
    balanced_sampling: bool = typer.Option(False, help="Draw each batch class-balanced instead of shuffling."),
    shift: float = typer.Option(0.1, min=0.0, help="Random shift, fraction of the image size."),
    rotate: float = typer.Option(15.0, min=0.0, help="Random rotation, degrees."),
    scale: float = typer.Option(0.15, min=0.0, help="Random zoom, 1 +- scale."),
    flip: bool = typer.Option(True, help="Random horizontal flip."),
    erase: float = typer.Option(0.5, min=0.0, max=0.99, help="Random erasing probability."),
    mixup: float = typer.Option(0.0, min=0.0, help="Mixup alpha (0 = off)."),
    cutmix: float = typer.Option(0.0, min=0.0, help="CutMix alpha (0 = off)."),
    teacher: Optional[str] = typer.Option(None, help="Distil from this model (default, fast, .onnx, .pt): its "
                                          "probabilities on the training images become soft targets."),
    distill: float = typer.Option(0.5, min=0.0, max=1.0,
                                  help="Weight of the teacher's probabilities in the targets (with --teacher)."),
    seed: int = typer.Option(0),
    subset: int = typer.Option(0, min=0, help="Train on this many training images (0 = all), for quick checks."),
    patience: int = typer.Option(0, min=0, help="Stop after this many epochs without val improvement (0 = never)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    threads: int = typer.Option(0, min=0, max=CPU_COUNT, clamp=True,
                                help=f"CPU threads for torch (0 = torch's default; at most the CPU count, "
                                     f"{CPU_COUNT} here)."),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this directory from its last.pt."),
    progress: bool = typer.Option(True, help="Show a live progress bar."),
    labels: Optional[str] = typer.Option(None, help="Your own data's label order, comma-separated (default: "
                                         "sorted label names)."),
    val_fraction: float = typer.Option(0.1, min=0.0, max=0.9, help="Your own images without a split: share "
                                                                   "drawn for val (stratified, by --seed)."),
    test_fraction: float = typer.Option(0.0, min=0.0, max=0.9, help="... and for test."),
    faces: str = typer.Option("given", help="Your own images: given (each is a face crop) or detect (find and "
                                            "align the face as predict does)."),
    skip_bad: bool = typer.Option(False, help="Leave out unreadable files (listed in the run's skipped.csv) "
                                              "instead of stopping."),
    init: Optional[str] = typer.Option(None, help="Fine-tune from default, fast, accurate (when shipped), an "
                                                  ".onnx or a .pt; another label set gets a new head."),
    freeze: int = typer.Option(0, min=0, help="With --init: body stages kept fixed, from the input."),
    body_lr: float = typer.Option(1.0, min=0.0, help="With --init: the body's learning rate as a fraction of --lr."),
    nproc: int = typer.Option(1, min=1, help="Train on N local processes with DDP (gloo on the CPU, NCCL on CUDA); "
                                             "--batch-size is the batch of all N together. For several machines "
                                             "run this command under torchrun instead."),
) -> None:
    """Train a model on FER2013 Training (or your own images), selecting the best epoch on PublicTest (val).

    Your own data: facemotion train --data faces/ --init default --epochs 10 --out runs/mine
    """
    _setup_logging(False)
    from facemotion.training import TrainConfig, fit

    try:
        if resume is not None and nproc > 1:
            _train_nproc(TrainConfig(data="", out=str(resume)), nproc, resume=True, progress=progress)
            return
        if resume is not None:
            run_dir = fit(TrainConfig(data="", out=str(resume)), resume=True, progress=progress)
        else:
            if data is None or out is None:
                _fail("--data and --out are required (or --resume RUN_DIR)")
            given = (("dropout", dropout), ("width", width), ("depth", depth))
            model_kwargs = {k: v for k, v in given if v is not None}
            cfg = _train_config(data=str(data), out=str(out), model=model, model_kwargs=model_kwargs, epochs=epochs,
                              batch_size=batch_size, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                              schedule=schedule, warmup_epochs=warmup_epochs, label_smoothing=label_smoothing,
                              class_weights=class_weights, balanced_sampling=balanced_sampling, shift=shift,
                              rotate=rotate, scale=scale, flip=flip, erase=erase, mixup=mixup, cutmix=cutmix,
                              teacher=teacher, distill=distill, seed=seed, subset=subset, patience=patience,
                              device=device, threads=threads,
                              labels=[n.strip() for n in labels.split(",")] if labels else None,
                              val_fraction=val_fraction, test_fraction=test_fraction, faces=faces,
                              skip_bad=skip_bad, init=init, freeze=freeze, body_lr=body_lr)
            if nproc > 1:
                _train_nproc(cfg, nproc, resume=False, progress=progress)
                return
            run_dir = fit(cfg, progress=progress)
    except FacemotionError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; continue with --resume", code=130)
    typer.echo(f"run directory: {run_dir}")


def _train_config(**settings: Any) -> Any:
    """The ``TrainConfig`` of the options given; a setting it refuses (``--freeze`` without ``--init``...) is a
    one-line error, not a traceback."""
    from facemotion.training import TrainConfig

    try:
        return TrainConfig(**settings)
    except (TypeError, ValueError) as exc:
        _fail(f"train: {exc}")


def _train_nproc(cfg: object, nproc: int, *, resume: bool, progress: bool) -> None:
    """``--nproc N``: the same training in N processes started by ``torch.distributed.run``; exits with their code."""
    import os

    from facemotion.training.distributed import check_nproc, launch_local

    if "WORLD_SIZE" in os.environ:
        _fail("--nproc is for a single command; under torchrun leave it out (torchrun starts the processes)")
    if resume:  # the device is the resumed run's, not the default of the bare config built from --resume
        from facemotion.training.fit import resume_config

        check_nproc(nproc, resume_config(cfg.out).device)  # type: ignore[attr-defined]
    else:
        check_nproc(nproc, getattr(cfg, "device", "auto"))
    code = launch_local({"config": cfg.to_dict(), "resume": resume, "progress": progress}, nproc)  # type: ignore
    if code:
        raise typer.Exit(code)


@app.command()
def evaluate(
    weights: str = typer.Option(..., help="default, fast, a .onnx file or a .pt checkpoint."),
    data: Path = typer.Option(..., help="FER2013 CSV or image folder, or your own images (read as the model's "
                                        "training read them)."),
    split: str = typer.Option("test", help="test (PrivateTest: report once), val (PublicTest) or train."),
    out: Optional[Path] = typer.Option(None, help="Folder for report.json, report.md and confusion.png."),
    tta: str = typer.Option("none", help="Test-time augmentation outside the model: none, flip or tencrop."),
    limit: int = typer.Option(0, min=0, help="Score only the first N images of the split (0 = all)."),
    card: Optional[Path] = typer.Option(None, help="Record the metrics in this model card (.json) under --card-key."),
    card_key: Optional[str] = typer.Option(None, help="Key under the card's metrics (default: the split, plus the "
                                                      "TTA mode when there is one)."),
) -> None:
    """Score a model on a FER2013 split: accuracy, macro-F1, per-class F1, ECE and the confusion matrix."""
    from facemotion.evaluation import evaluate as run_evaluation
    from facemotion.evaluation import write_report

    if split not in ("train", "val", "test"):
        _fail(f"--split must be train, val or test, got {split!r}")
    try:
        report = run_evaluation(weights, data, split=split, tta=tta, limit=limit)
    except (FacemotionError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"{split}: {report.images} images  accuracy {100 * report.accuracy:.2f} %  "
               f"macro-F1 {100 * report.macro_f1:.2f} %  ECE {100 * report.ece:.2f} %")
    typer.echo("  ".join(f"{name} F1 {100 * report.per_class[name]['f1']:.1f}" for name in report.label_names))
    if out is not None:
        paths = write_report(report, out)
        typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
    if card is not None:
        if not card.is_file():
            _fail(f"{card}: no model card to update")
        content = json.loads(card.read_text())
        key = card_key or f"{split}{'_' + tta if tta != 'none' else ''}"
        content.setdefault("metrics", {})[key] = report.to_dict()
        from facemotion.evaluation.intended_use import with_intended_use

        with_intended_use(content)  # the measured weaknesses follow the figures just recorded
        card.write_text(json.dumps(content, indent=2) + "\n")
        typer.echo(f"updated {card} (metrics.{key})")


@app.command()
def export(
    weights: list[Path] = typer.Option(..., help="A .pt checkpoint (best.pt of a run) or an exported .onnx with "
                                                 "its card; repeat the option to export the ensemble that "
                                                 "averages their logits (a graph's own members join one by one). "
                                                 "One .onnx alone is written again with heatmaps, metadata and "
                                                 "card kept."),
    out: Path = typer.Option(..., help="Destination .onnx file; the model card is written beside it as .json. "
                                       "Never one of the --weights: a re-export is written beside its source."),
    calibrate: Optional[Path] = typer.Option(None, help="FER2013 data whose PublicTest split fits the temperature "
                                                        "(checkpoints only: a re-exported .onnx keeps its own "
                                                        "temperature, and --calibrate with one is refused)."),
    flip_tta: Optional[bool] = typer.Option(None, "--flip-tta/--no-flip-tta",
                                            help="Average with the mirrored face inside the graph. Default: on for "
                                                 "a checkpoint; as the old graph had it for a re-exported .onnx "
                                                 "(given, it is honoured and recorded in the metadata)."),
) -> None:
    """Export a checkpoint (or an ensemble of them) to ONNX: raw 48x48 pixels in, 7 calibrated probabilities out,
    dynamic batch."""
    _setup_logging(False)
    from facemotion.cli._common import check_outputs
    from facemotion.models.export import check_onnx_path
    from facemotion.training.export_model import export_checkpoint

    try:  # before anything is written: a .onnx name, not a folder, and no output that is an input
        check_onnx_path(out)
        sources = [*weights, *(w.with_suffix(".json") for w in weights if w.suffix.lower() == ".onnx")]
        check_outputs({"--out": out, "the model card": out.with_suffix(".json")}, sources)
    except FacemotionError as exc:
        _fail(str(exc))
    if len(weights) == 1 and weights[0].suffix.lower() == ".onnx":
        from facemotion.models.from_onnx import reexport_onnx

        if calibrate is not None:
            _fail(f"--calibrate applies to checkpoint (.pt) exports only: the re-export of {weights[0]} keeps the "
                  f"temperature its graph records; leave --calibrate out (or export the run's best.pt)")
        try:
            reexport_onnx(weights[0], out, flip_tta=flip_tta)
        except FacemotionError as exc:
            _fail(str(exc))
        tta = "" if flip_tta is None else f", flip TTA {'on' if flip_tta else 'off'}"
        typer.echo(f"wrote {out} with heatmaps (metadata, temperature and model card of {weights[0]} kept{tta})")
        return
    try:
        card = export_checkpoint(weights, out, calibrate_data=calibrate,
                                 flip_tta=True if flip_tta is None else flip_tta)
    except FacemotionError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {out} ({card['parameters']:,} parameters, temperature {card['temperature']:.3f}) "
               f"and {out.with_suffix('.json')}")


def _register_commands() -> None:
    """Commands that live in their own modules (predict, video, serve) attach themselves here."""
    from facemotion.cli import commands

    for register in commands.REGISTRARS:
        register(app)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    app()


if __name__ == "__main__":
    main()
