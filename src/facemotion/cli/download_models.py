"""``facemotion download-models``: the YuNet face detector file, checked; nothing else in facemotion downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from facemotion.cli._common import exit_on_error, setup_logging
from facemotion.cli.app import app

__all__ = ["download_models"]


@app.command("download-models")
def download_models(
    dest: Optional[Path] = typer.Option(None, help="File or folder for the YuNet .onnx (default: the user cache)."),
    force: bool = typer.Option(False, help="Download again even if a good copy is there, and replace a --dest file "
                                           "that is not YuNet."),
) -> None:
    """Download the YuNet face detector (OpenCV Zoo, MIT licence) and check its SHA-256; predict never downloads.

    Example: facemotion download-models   # then `facemotion predict photo.jpg -v` says "face detector: yunet"
    """
    from facemotion.faces.yunet_model import download_yunet

    setup_logging(False)
    with exit_on_error(os_error=lambda exc: f"cannot write {dest or 'the cache'}: {exc}"):
        path = download_yunet(dest, force=force)
    typer.echo(str(path))
