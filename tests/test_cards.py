from __future__ import annotations

import stat
from pathlib import Path

import pytest

from facemotion.cards import card_path, read_card, write_card
from facemotion.errors import ModelError


def test_a_written_card_reads_back_and_is_readable_by_all(tmp_path: Path) -> None:
    card = {"name": "m", "output": {"labels": ["a", "b"]}, "metrics": {}, "temperature": 1.5}
    path = card_path(tmp_path / "m.onnx")
    write_card(path, card)
    assert path == tmp_path / "m.json" and read_card(path) == card
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text().endswith("}\n")


def test_a_card_its_readers_would_refuse_is_not_written_and_the_old_one_stays(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    write_card(path, {"metrics": {}})
    with pytest.raises(ModelError, match="m.json: not a model card"):
        write_card(path, {"metrics": []})
    assert read_card(path) == {"metrics": {}} and [p.name for p in tmp_path.iterdir()] == ["m.json"]
