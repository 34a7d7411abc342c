"""Checkpoints: written through the one atomic writer, read back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from facemotion.training import checkpoint  # noqa: E402


def test_save_atomic_writes_through_write_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It kept its own copy of the temporary-file-fsync-rename dance (paths.write_atomic)."""
    calls: list[Path] = []
    real = checkpoint.write_atomic
    monkeypatch.setattr(checkpoint, "write_atomic", lambda path, data: (calls.append(path), real(path, data)))
    target = tmp_path / checkpoint.LAST
    checkpoint.save_atomic({"epoch": 3, "weights": torch.arange(4.0)}, target)
    assert calls == [target]
    loaded = torch.load(target, weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["weights"], torch.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.LAST]  # no temporary file left
