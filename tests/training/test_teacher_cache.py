from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facemotion.training.teacher_cache import cache_key, read_cached, write_cached

LAYOUT = {"probabilities": ((3, 7), np.float32), "flips": ((3, 2), np.bool_)}
GOOD = {"probabilities": np.full((3, 7), 1 / 7, np.float32), "flips": np.zeros((3, 2), bool)}


def test_a_cache_is_read_back_only_under_its_key(tmp_path: Path) -> None:
    images = np.zeros((3, 48, 48), np.uint8)
    key = cache_key("sha-a", images, labels=["a", "b"])
    assert key != cache_key("sha-b", images, labels=["a", "b"]) != cache_key("sha-a", images + 1, labels=["a", "b"])
    write_cached(tmp_path / "c.npz", key, **GOOD)
    stored = read_cached(tmp_path / "c.npz", key, LAYOUT)
    assert stored is not None and all(np.array_equal(stored[n], GOOD[n]) for n in GOOD)
    assert read_cached(tmp_path / "c.npz", "another key", LAYOUT) is None
    assert read_cached(tmp_path / "missing.npz", key, LAYOUT) is None and read_cached(None, key, LAYOUT) is None


@pytest.mark.parametrize("change", [
    {"probabilities": np.full((3, 7), 1 / 7, ">f4")},          # the right values, another byte order
    {"probabilities": np.full((3, 7), np.nan, np.float32)},
    {"probabilities": np.full((3, 6), 1 / 6, np.float32)},
    {"flips": np.zeros((3, 2), np.uint8)},
])
def test_arrays_of_another_shape_dtype_or_not_finite_are_scored_again(tmp_path: Path, change: dict) -> None:
    write_cached(tmp_path / "c.npz", "k", **{**GOOD, **change})
    assert read_cached(tmp_path / "c.npz", "k", LAYOUT) is None


def test_a_missing_array_or_a_damaged_file_is_scored_again(tmp_path: Path) -> None:
    write_cached(tmp_path / "c.npz", "k", probabilities=GOOD["probabilities"])
    assert read_cached(tmp_path / "c.npz", "k", LAYOUT) is None
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert read_cached(tmp_path / "d.npz", "k", LAYOUT) is None
