"""Importing facemotion and its inference path must stay cheap and side-effect free: no torch, no warnings, no
files written (kornia's tests/test_import.py, in a fresh interpreter so nothing earlier hides an import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MODULES = ["facemotion", "facemotion.inference", "facemotion.faces", "facemotion.data", "facemotion.cli.main",
           "facemotion.cli.train", "facemotion.cli.predict", "facemotion.inference.recognizer",
           "facemotion.inference.images", "facemotion.inference.annotate", "facemotion.types", "facemotion.paths",
           "facemotion.evaluation"]


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "FACEMOTION_CACHE": str(home / "cache")}
    return subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=home,
                          env=env, timeout=120)


def assert_clean_import(code: str, tmp_path: Path) -> None:
    """Run ``code`` in a fresh interpreter with warnings as errors: it must pass, print nothing and write nothing."""
    proc = run_python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert list((tmp_path / "home").iterdir()) == []


def test_inference_path_imports_no_torch_warns_nothing_and_writes_nothing(tmp_path: Path) -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "import facemotion\n"
        "facemotion.Recognizer, facemotion.FaceResult, facemotion.ImageResult, facemotion.Box\n"
        "from facemotion import Recognizer, FaceResult\n"
        "assert 'torch' not in sys.modules, [m for m in sys.modules if m.startswith('torch')][:5]\n"
    )
    assert_clean_import(code, tmp_path)


def test_bare_import_is_cheap(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import facemotion\n"
        "heavy = [m for m in ('torch', 'cv2', 'onnxruntime', 'numpy', 'PIL') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert sorted(facemotion.__all__) == sorted(set(facemotion.__all__))\n"
        "assert callable(facemotion.Recognizer) and 'cv2' in sys.modules\n"
    )
    proc = run_python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_commands_that_need_torch_name_the_extra_without_it(tmp_path: Path) -> None:
    """An inference install has no torch: `models`, `train` and `export` say how to get it, not a traceback."""
    for args in (["models"], ["train", "--data", "x.csv", "--out", "run"], ["export", "--model", "x.pt", "--out",
                                                                           "y.onnx"]):
        code = ("import sys; sys.modules['torch'] = None\n"  # import torch now raises ImportError, as without it
                "from facemotion.cli.main import main\n"
                f"sys.argv = ['facemotion', *{args!r}]\n"
                "main()\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"facemotion {args[0]} needs torch" in proc.stderr and "pip install 'facemotion[train]'" in proc.stderr
        assert "Traceback" not in proc.stderr
