from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from facemotion.data import load_fer2013
from facemotion.data.cache import source_key
from tests.conftest import default_usages, synthetic_images, write_fer_csv, write_fer_folders


def test_second_load_comes_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    images, labels = synthetic_images(14)
    path = write_fer_csv(tmp_path / "f.csv", images, labels, default_usages(10, 2, 2))
    first = load_fer2013(path, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "fer2013").glob("*.npz"))

    import facemotion.data as data_module

    def refuse(_path: Path) -> None:
        raise AssertionError("the source was decoded again")

    monkeypatch.setattr(data_module, "read_csv", refuse)
    second = load_fer2013(path, cache_dir=tmp_path / "cache")
    assert second.content_hash() == first.content_hash()


def test_key_changes_when_the_source_changes(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    path = write_fer_csv(tmp_path / "f.csv", images, labels, default_usages(10, 2, 2))
    before = source_key(path)
    images[0, 0, 0] = 255 - images[0, 0, 0]
    write_fer_csv(path, images, labels, default_usages(10, 2, 2))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert source_key(path) != before
    np.testing.assert_array_equal(load_fer2013(path, cache_dir=tmp_path / "c").train.images[0], images[0])


@pytest.mark.parametrize("damage", [lambda data: b"garbage", lambda data: data[:len(data) // 2]])  # or truncated
def test_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch, damage) -> None:
    images, labels = synthetic_images(14)
    path = write_fer_csv(tmp_path / "f.csv", images, labels, default_usages(10, 2, 2))
    load_fer2013(path, cache_dir=tmp_path / "cache")
    damaged = sorted((tmp_path / "cache" / "fer2013").glob("*.npz"))
    assert damaged
    for file in damaged:
        file.write_bytes(damage(file.read_bytes()))
    rebuilt = load_fer2013(path, cache_dir=tmp_path / "cache")
    assert len(rebuilt.train) == 10
    np.testing.assert_array_equal(rebuilt.train.images, images[:10])
    for file in damaged:  # written again, whole: a valid archive in place of the damaged one
        with np.load(file) as archive:
            assert len(archive.files) > 0
    import facemotion.data as data_module

    def refuse(_path: Path) -> None:
        raise AssertionError("the rewritten cache was not used")

    monkeypatch.setattr(data_module, "read_csv", refuse)
    assert load_fer2013(path, cache_dir=tmp_path / "cache").content_hash() == rebuilt.content_hash()


def test_a_dangling_link_in_a_folder_changes_nothing_the_cache_does(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    plain = load_fer2013(root, use_cache=False)
    link = next(root.rglob("*.png")).parent / os.fsdecode(b".gone\xe9.png")
    link.symlink_to(tmp_path / "nowhere.png")
    key = source_key(root)
    cached = load_fer2013(root, cache_dir=tmp_path / "cache")
    assert cached.content_hash() == load_fer2013(root, use_cache=False).content_hash() == plain.content_hash()
    (tmp_path / "nowhere.png").write_bytes(b"")  # the link's target appears: another source
    assert source_key(root) != key
