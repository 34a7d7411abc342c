"""``facemotion export-web``: writes the static site, refuses a folder in use, exits 2 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from facemotion.cli import export_web


def app() -> typer.Typer:
    app = typer.Typer()
    export_web.register(app)
    app.command("noop", hidden=True)(lambda: None)  # two commands, so typer keeps the command name
    return app


def test_export_web_writes_the_site_and_reports_its_payload(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["export-web", str(tmp_path / "site"), "--model", "fast"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "site" / "site.json").read_text())
    assert manifest["default_model"] == "fast" and manifest["server"] is False
    assert "runtime" in result.output and "MB" in result.output


def test_export_web_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("someone's page")
    result = CliRunner().invoke(app(), ["export-web", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.output and "--overwrite" in result.output
    assert (tmp_path / "index.html").read_text() == "someone's page"


def test_export_web_is_registered_on_the_real_app() -> None:
    from facemotion.cli import commands

    assert export_web.register in commands.REGISTRARS
