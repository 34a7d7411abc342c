"""``facemotion serve``: registered, documented, and failing with exit code 2 before opening a port."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from facemotion.cli import commands
from facemotion.cli import serve as serve_cli


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    serve_cli.register(app)

    @app.command()
    def other() -> None:  # a second command keeps typer from collapsing the app into `serve` alone
        """Unused."""

    return app


def test_serve_is_registered() -> None:
    assert serve_cli.register in commands.REGISTRARS


def test_help_shows_runnable_examples(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for fragment in ("curl -F image=@photo.jpg", "--api-key", "--cors", "--max-upload-mb", "--workers",
                     "--detector-model", "FACEMOTION_API_KEY"):
        assert fragment in result.stdout, fragment


@pytest.mark.parametrize(("args", "env", "fragment"), [
    (["--model", "/nonexistent/model.onnx"], {}, "/nonexistent/model.onnx: no such model file"),
    (["--detector", "hog"], {}, "unknown detector 'hog'"),
    ([], {"FACEMOTION_WORKERS": "lots"}, "$FACEMOTION_WORKERS must be an integer"),
    (["--detector", "yunet", "--detector-model", "/nonexistent/yunet.onnx"], {}, "no such YuNet model file"),
])
def test_bad_settings_exit_2_with_a_message(app: typer.Typer, tmp_path: Path, args: list[str], env: dict,
                                            fragment: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "0", *args], env=env)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output + result.stderr
