"""The ``facemotion`` command: one verb per job, each in its own module, each a thin call into the library.

Importing this module imports every command module, and each registers itself on the one app of
:mod:`facemotion.cli.app` as it is imported: ``facemotion.cli.main:app`` is the whole command line, ready for
``typer.testing.CliRunner``. The imports below are in the order ``facemotion --help`` lists the commands; each
module imports only typer and the standard library up front (the rest inside its command), so ``--help`` stays fast.
"""

from __future__ import annotations

# The order of these imports is the order of the commands in --help.
# isort: off
from facemotion.cli.app import app
from facemotion.cli import models, train, evaluate, export  # noqa: F401  (registration)
from facemotion.cli import predict, download_models, video, webcam, serve, batch, export_web  # noqa: F401
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
