"""The serving layer keeps the package's hygiene: no torch, no warnings, no files written, in a fresh interpreter."""

from __future__ import annotations

from pathlib import Path

from tests.test_import import assert_clean_import


def test_serving_imports_no_torch_warns_nothing_and_writes_nothing(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import facemotion.serving\n"
        "assert 'fastapi' not in sys.modules  # settings alone need no web framework\n"
        "from facemotion.serving import ServeSettings, create_app\n"
        "import facemotion.serving.app, facemotion.serving.schemas, facemotion.cli.serve\n"
        "app = create_app(settings=ServeSettings(model='default', detector='haar'))\n"
        "assert app.openapi()['paths']['/v1/predict']\n"
        "assert 'torch' not in sys.modules, [m for m in sys.modules if m.startswith('torch')][:5]\n"
    )
    assert_clean_import(code, tmp_path)
