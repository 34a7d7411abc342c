"""``facemotion export-web DIR``: the page as a static site that runs the models in the visitor's browser.

The folder holds the page, the vendored onnxruntime-web, YuNet and the packaged classifiers; any static host (a
bucket, GitHub Pages, ``python -m http.server``) serves it, and no image ever leaves the visitor's device.
"""

from __future__ import annotations

from pathlib import Path

import typer

from facemotion.cli._common import describe_os_error, exit_on_error
from facemotion.cli.app import app

__all__ = ["export_web", "EXPORT_WEB_HELP"]

EXPORT_WEB_HELP = """Write the web page as a static site whose private mode runs every model in the browser.

Examples:

  facemotion export-web site/                    # then: python -m http.server -d site 8080

  facemotion export-web site/ --model fast       # the small model first, for slow devices

The folder needs no facemotion server: faces are found and read by the page itself, so photos and camera frames
stay on the visitor's device. Serve it over https (or localhost) for the camera to work."""


def export_web(
    dest: Path = typer.Argument(..., help="Folder to write (created; must be empty unless --overwrite)."),
    model: str = typer.Option("default", help="The model the page starts with: default or fast (all are offered)."),
    overwrite: bool = typer.Option(False, help="Write into a folder that already holds files."),
) -> None:
    """Write the static site (the help shown is EXPORT_WEB_HELP)."""
    from facemotion.serving.static_site import export_site

    with exit_on_error(os_error=lambda exc: describe_os_error(exc, dest)):
        manifest = export_site(dest, default_model=model, overwrite=overwrite)
    sizes = ", ".join(f"{m['name']} {m['bytes'] / 1e6:.1f} MB" for m in manifest["models"])
    typer.echo(f"wrote {dest}: runtime {manifest['runtime']['bytes'] / 1e6:.1f} MB, detector "
               f"{manifest['detector']['bytes'] / 1e6:.1f} MB, models {sizes}", err=True)


app.command("export-web", help=EXPORT_WEB_HELP)(export_web)
