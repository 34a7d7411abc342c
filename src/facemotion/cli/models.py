"""``facemotion models``: the registered architectures with their size (torch, imported inside the command)."""

from __future__ import annotations

import typer

from facemotion.cli._common import require_torch
from facemotion.cli.app import app

__all__ = ["models"]


@app.command("models")
def models() -> None:
    """List the registered models with parameters and MACs for a 48x48 input (needs the train extra)."""
    require_torch("facemotion models")
    from facemotion.models import count_macs, count_parameters, create_model, list_models, model_description

    typer.echo(f"{'name':<20}{'params':>12}{'MACs':>12}  description")
    for name in list_models():
        model = create_model(name)
        typer.echo(f"{name:<20}{count_parameters(model):>12,}{count_macs(model) / 1e6:>11.1f}M  "
                   f"{model_description(name)}")
