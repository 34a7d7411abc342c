"""``facemotion serve``: registered, documented, and failing with exit code 2 before opening a port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from facemotion.cli.main import app

    return app  # the real one, every command registered at import


def test_serve_is_registered() -> None:
    """The installed command line (``python -m facemotion.cli.main``, what the ``facemotion`` script runs) has serve,
    with its own options: not just a registrar in a list."""
    result = subprocess.run([sys.executable, "-m", "facemotion.cli.main", "serve", "--help"], capture_output=True,
                            text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage: " in result.stdout and " serve " in result.stdout
    for option in ("--api-key", "--max-upload-mb", "--workers", "--port"):
        assert option in result.stdout, option


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
    (["--max-upload-mb", "inf"], {}, "--max-upload-mb must be a finite number of MiB, got inf"),
    (["--log-level", "bogus"], {}, "--log-level must be one of critical, error, warning, info, debug, trace"),
])
def test_bad_settings_exit_2_with_a_message(app: typer.Typer, tmp_path: Path, args: list[str], env: dict,
                                            fragment: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "0", *args], env=env)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output + result.stderr
