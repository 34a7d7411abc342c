from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facemotion.data import FER2013, Split, load_fer2013, read_csv, read_packed, write_packed
from facemotion.data.cache import save_cached
from facemotion.data.packed import packed_meta
from facemotion.errors import DataError
from tests.conftest import default_usages, synthetic_images, write_fer_csv


@pytest.fixture
def fer(tmp_path: Path) -> FER2013:
    images, labels = synthetic_images(42)
    return read_csv(write_fer_csv(tmp_path / "f.csv", images, labels, default_usages(28, 7, 7)))


def test_exact_splits_round_trip_and_load_dispatches_on_npz(fer: FER2013, tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    write_packed(fer, path)
    back = load_fer2013(path, cache_dir=tmp_path / "cache")
    assert back.content_hash() == fer.content_hash()
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_LZMA}


def test_jpeg_split_measures_its_error_and_leaves_other_splits_exact(fer: FER2013, tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    meta = write_packed(fer, path, jpeg_quality={"train": 90}, splits=("train", "val"), meta={"note": "x"})
    back = read_packed(path)
    error = np.abs(back.train.images.astype(int) - fer.train.images).mean()
    assert meta["splits"]["train"]["mean_abs_error"] == pytest.approx(error)
    assert 0 < error < 10
    np.testing.assert_array_equal(back.train.labels, fer.train.labels)
    np.testing.assert_array_equal(back.val.images, fer.val.images)
    assert len(back.test) == 0
    assert packed_meta(path)["note"] == "x" and packed_meta(path)["splits"]["val"]["storage"] == "uint8"


def test_the_cache_file_is_a_packed_file(fer: FER2013, tmp_path: Path) -> None:
    cached = save_cached(tmp_path, "k", fer)
    assert read_packed(cached).content_hash() == fer.content_hash()
    assert packed_meta(cached) == {}


def _write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros(3)}, "no FER2013 split arrays"),
    ({"train_labels": np.zeros(2, np.int64)}, "labels without"),
    ({"train_images": np.zeros((2, 48, 48), np.uint8), "val_labels": np.zeros(0, np.int64),
      "val_images": np.zeros((0, 48, 48), np.uint8)}, "images without train_labels"),
    ({"train_labels": np.array([0, 7]), "train_images": np.zeros((2, 48, 48), np.uint8)}, "must lie in 0-6"),
    ({"train_labels": np.zeros(2, np.int64), "train_images": np.zeros((2, 40, 48), np.uint8)}, "(N, 48, 48) uint8"),
    ({"train_labels": np.zeros(3, np.int64), "train_images": np.zeros((2, 48, 48), np.uint8)}, "2 images but 3"),
    ({"train_labels": np.zeros(1, np.int64), "train_jpeg": np.arange(10, dtype=np.uint8),
      "train_jpeg_offsets": np.array([0, 10])}, "train image 0: not a 48x48 JPEG"),
    ({"train_labels": np.zeros(1, np.int64), "train_jpeg": np.arange(10, dtype=np.uint8),
      "train_jpeg_offsets": np.array([0, 11])}, "offsets do not index"),
])
def test_bad_packed_files_name_the_file_and_the_fault(tmp_path: Path, arrays: dict, message: str) -> None:
    path = _write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match="bad.npz") as info:
        read_packed(path)
    assert message in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_unreadable_files_are_data_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.npz"):
        load_fer2013(path, use_cache=False)


@pytest.mark.parametrize("shape", [(10**12,), (3 * 10**10, 48, 48)])
def test_a_member_declaring_more_than_it_holds_is_refused_before_allocating(tmp_path: Path, shape: tuple) -> None:
    """A few hundred bytes whose header declares terabytes: refused by name, never a MemoryError."""
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<i8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train_labels.npy", header.getvalue() + np.zeros(3, np.int64).tobytes())
    assert path.stat().st_size < 1000
    with pytest.raises(DataError, match=r"bomb.npz: train_labels.npy: its header declares int64 .* but it holds 24"):
        load_fer2013(path, use_cache=False)


def test_empty_split_round_trips(tmp_path: Path) -> None:
    empty = Split.from_lists([], [])
    one = Split(np.zeros((1, 48, 48), np.uint8), np.zeros(1, np.int64))
    data = FER2013(train=one, val=one, test=empty, source="s")
    path = tmp_path / "p.npz"
    write_packed(data, path, jpeg_quality={"test": 90})
    assert len(read_packed(path).test) == 0
