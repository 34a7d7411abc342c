"""The video layer and its commands import neither torch nor matplotlib, warn about nothing and write nothing."""

from __future__ import annotations

from pathlib import Path

from tests.test_import import assert_clean_import, run_python

MODULES = ["facemotion.video", "facemotion.video.analyzer", "facemotion.video.sources", "facemotion.video.tracking",
           "facemotion.video.smoothing", "facemotion.video.writers", "facemotion.video.timeline",
           "facemotion.video.display", "facemotion.video.pipeline", "facemotion.cli.video"]


def test_video_imports_no_torch_no_matplotlib_and_writes_nothing(tmp_path: Path) -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = [m for m in ('torch', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    assert_clean_import(code, tmp_path)


def test_inference_does_not_import_the_video_layer(tmp_path: Path) -> None:
    proc = run_python("import sys, facemotion.inference.recognizer, facemotion.inference.annotate\n"
                      "assert not [m for m in sys.modules if m.startswith('facemotion.video')]\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
