"""``facemotion export-web DIR``: the page as a static site that runs the models in the visitor's browser.

The folder holds the page, the vendored onnxruntime-web, YuNet and the packaged classifiers; any static host (a
bucket, GitHub Pages, ``python -m http.server``) serves it, and no image ever leaves the visitor's device.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register", "export_web", "EXPORT_WEB_HELP"]

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
    from facemotion.cli.main import _fail
    from facemotion.errors import FacemotionError
    from facemotion.serving.static_site import export_site

    try:
        manifest = export_site(dest, default_model=model, overwrite=overwrite)
    except FacemotionError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or dest}: {exc.strerror or exc}")
    sizes = ", ".join(f"{m['name']} {m['bytes'] / 1e6:.1f} MB" for m in manifest["models"])
    typer.echo(f"wrote {dest}: runtime {manifest['runtime']['bytes'] / 1e6:.1f} MB, detector "
               f"{manifest['detector']['bytes'] / 1e6:.1f} MB, models {sizes}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``export-web`` to the ``facemotion`` app."""
    app.command("export-web", help=EXPORT_WEB_HELP)(export_web)
