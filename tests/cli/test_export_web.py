"""``facemotion export-web``: writes the static site, refuses a folder in use, exits 2 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from facemotion.cli.main import app as real_app


def app() -> typer.Typer:
    return real_app  # the real one, every command registered at import


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


def test_export_web_refuses_a_model_the_page_does_not_offer(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["export-web", str(tmp_path / "site"), "--model", "bogus"])
    assert result.exit_code == 2 and "--model 'bogus': the page offers default, " in result.output
    assert not (tmp_path / "site").exists()


def test_export_web_is_registered_on_the_real_app() -> None:
    import typer.main

    command = typer.main.get_command(real_app)
    assert "export-web" in command.commands  # type: ignore[attr-defined]
    assert "--overwrite" in CliRunner().invoke(real_app, ["export-web", "--help"]).output
