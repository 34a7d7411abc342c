"""``facemotion evaluate``: score a model on a split and write the report (and the model card's metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from facemotion.cli._common import deprecated_alias, describe_os_error, exit_on_error, fail
from facemotion.cli.app import app
from facemotion.defaults import TTA_MODES
from facemotion.tiers import PACKAGED_MODELS

__all__ = ["evaluate"]


@app.command("evaluate")
def evaluate(
    model: Optional[str] = typer.Option(None, help=f"The model to score: {', '.join(PACKAGED_MODELS)}, a .onnx file "
                                                   "or a .pt checkpoint."),
    data: Path = typer.Option(..., help="FER2013 CSV or image folder, or your own images (read as the model's "
                                        "training read them)."),
    split: str = typer.Option("test", help="test (PrivateTest: report once), val (PublicTest) or train."),
    out: Optional[Path] = typer.Option(None, help="Folder for report.json, report.md and confusion.png."),
    tta: str = typer.Option("none", help=f"Test-time augmentation outside the model: {', '.join(TTA_MODES)}."),
    limit: int = typer.Option(0, min=0, help="Score only the first N images of the split (0 = all)."),
    card: Optional[Path] = typer.Option(None, help="Record the metrics in this model card (.json) under --card-key."),
    card_key: Optional[str] = typer.Option(None, help="Key under the card's metrics (default: the split, plus the "
                                                      "TTA mode when there is one)."),
    weights: Optional[str] = typer.Option(None, "--weights", hidden=True, help="Deprecated spelling of --model."),
) -> None:
    """Score a model on a FER2013 split: accuracy, macro-F1, per-class F1, ECE and the confusion matrix."""
    from facemotion.evaluation import evaluate as run_evaluation
    from facemotion.evaluation import write_report

    model = deprecated_alias("--model", "--weights", model, weights)  # type: ignore[assignment]
    if model is None:
        fail(f"--model is required: {', '.join(PACKAGED_MODELS)}, a .onnx file or a .pt checkpoint")
    if split not in ("train", "val", "test"):
        fail(f"--split must be train, val or test, got {split!r}")
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out {out}: is a file; give a folder for report.json, report.md and confusion.png")
    with exit_on_error(also=(ValueError,)):
        content = _read_card(card) if card is not None else None  # before the evaluation, not after it
        report = run_evaluation(model, data, split=split, tta=tta, limit=limit)
    typer.echo(f"{split}: {report.images} images  accuracy {100 * report.accuracy:.2f} %  "
               f"macro-F1 {100 * report.macro_f1:.2f} %  ECE {100 * report.ece:.2f} %")
    typer.echo("  ".join(f"{name} F1 {100 * report.per_class[name]['f1']:.1f}" for name in report.label_names))
    with exit_on_error(os_error=describe_os_error):
        if out is not None:
            paths = write_report(report, out)
            typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
        if card is not None and content is not None:
            key = card_key or f"{split}{'_' + tta if tta != 'none' else ''}"
            content.setdefault("metrics", {})[key] = report.to_dict()
            from facemotion.evaluation.intended_use import with_intended_use

            with_intended_use(content)  # the measured weaknesses follow the figures just recorded
            from facemotion.cards import write_card

            write_card(card, content)
            typer.echo(f"updated {card} (metrics.{key})")


def _read_card(card: Path) -> dict[str, Any]:
    """The model card to update, checked before minutes of evaluation rather than after them."""
    from facemotion.cards import read_card
    from facemotion.errors import ModelError

    if not card.is_file():
        raise ModelError(f"{card}: no model card to update")
    return read_card(card)
