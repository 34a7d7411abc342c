"""The list of modules that add commands to the ``facemotion`` app; each exposes ``register(app)``."""

from __future__ import annotations

from typing import Callable

import typer

from facemotion.cli import batch, export_web, predict, serve, video

__all__ = ["REGISTRARS"]

REGISTRARS: list[Callable[[typer.Typer], None]] = [predict.register, video.register, serve.register,
                                                    batch.register, export_web.register]
