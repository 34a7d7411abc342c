"""scripts/campaign_checkpoints.py: the campaign's weights leave the tree and come back from history byte for byte."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


def _script() -> object:
    spec = importlib.util.spec_from_file_location("campaign_checkpoints", REPO / "scripts" / "campaign_checkpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A repository whose campaign had two runs' weights, one of them re-trained and removed twice."""
    runs = tmp_path / "campaign"
    (runs / "a").mkdir(parents=True)
    (runs / "b").mkdir()
    (runs / "a" / "best.pt").write_bytes(b"first a")
    (runs / "a" / "metrics.csv").write_text("epoch\n1\n")
    (runs / "a" / "last.pt").write_bytes(b"optimizer state")
    (runs / "b" / "b.onnx").write_bytes(b"graph b")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "runs")
    _git(tmp_path, "rm", "-q", "campaign/a/best.pt", "campaign/b/b.onnx", "campaign/a/metrics.csv",
         "campaign/a/last.pt")
    _git(tmp_path, "commit", "-qm", "lean")
    (runs / "a").mkdir(parents=True, exist_ok=True)
    (runs / "a" / "best.pt").write_bytes(b"second a")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "a again")
    _git(tmp_path, "rm", "-q", "campaign/a/best.pt")
    _git(tmp_path, "commit", "-qm", "lean again")
    return tmp_path


def test_restore_brings_back_the_newest_weights_and_only_weights(history: Path) -> None:
    script = _script()
    stored = script.stored_weights(history)
    assert sorted(stored) == ["campaign/a/best.pt", "campaign/b/b.onnx"]  # not the records, nor a finished last.pt
    assert sorted(script.restore(history, [])) == ["campaign/a/best.pt", "campaign/b/b.onnx"]
    assert (history / "campaign/a/best.pt").read_bytes() == b"second a"
    assert (history / "campaign/b/b.onnx").read_bytes() == b"graph b"
    assert not (history / "campaign/a/metrics.csv").exists()


def test_restore_takes_named_runs_and_keeps_what_is_in_the_tree(history: Path) -> None:
    script = _script()
    (history / "campaign/a").mkdir(parents=True, exist_ok=True)
    (history / "campaign/a/best.pt").write_bytes(b"local edit")
    assert script.restore(history, ["a"]) == []
    assert script.restore(history, ["b"]) == ["campaign/b/b.onnx"]
    assert (history / "campaign/a/best.pt").read_bytes() == b"local edit"


def test_restore_names_an_unknown_run(history: Path) -> None:
    with pytest.raises(SystemExit, match="no stored checkpoint for nope .*runs with one: a, b"):
        _script().restore(history, ["nope"])
