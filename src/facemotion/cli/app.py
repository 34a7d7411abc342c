"""The one ``facemotion`` typer app. Every command module registers itself on it when imported; ``cli.main``
imports them all, so ``facemotion.cli.main:app`` is the whole command line."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

__all__ = ["app", "COMMANDS"]

COMMANDS = ("models", "train", "evaluate", "export", "predict", "download-models", "video", "webcam", "serve", "batch",
            "export-web")
"""The order ``facemotion --help`` lists the commands in, whichever module happened to be imported first."""


class _Commands(TyperGroup):
    def list_commands(self, ctx: object) -> list[str]:  # type: ignore[override]
        known = [name for name in COMMANDS if name in self.commands]
        return known + [name for name in self.commands if name not in COMMANDS]


app = typer.Typer(
    cls=_Commands,
    name="facemotion",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Recognise the emotion on every face, and train the models that do it.\n\n"
         "Examples:\n\n"
         "  facemotion models\n\n"
         "  facemotion train --data fer2013.csv.gz --arch vgg_m --epochs 40 --out runs/vgg_m\n\n"
         "  facemotion evaluate --data fer2013.csv.gz --model runs/vgg_m/best.pt --split val --out runs/vgg_m/eval",
)
