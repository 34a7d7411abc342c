from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from facemotion.data import read_csv, read_folders
from facemotion.errors import DataError
from tests.conftest import default_usages, synthetic_images, write_fer_csv, write_fer_folders


def test_folders_match_the_csv(tmp_path: Path) -> None:
    images, labels = synthetic_images(42)
    usages = default_usages(28, 7, 7)
    folders = read_folders(write_fer_folders(tmp_path / "fer", images, labels, usages))
    table = read_csv(write_fer_csv(tmp_path / "fer.csv", images, labels, usages))
    for split in ("train", "val", "test"):
        assert len(folders.split(split)) == len(table.split(split))
        np.testing.assert_array_equal(folders.split(split).class_counts(), table.split(split).class_counts())
    assert folders.content_hash() == table.content_hash()


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    broken = root / "train" / "happy" / "Training_broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="not a readable image") as info:
        read_folders(root)
    assert str(broken) in str(info.value)


def test_wrong_size_image_is_named(tmp_path: Path) -> None:
    import cv2

    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    cv2.imwrite(str(root / "train" / "sad" / "Training_big.png"), np.zeros((64, 64), np.uint8))
    with pytest.raises(DataError, match="expected a 48x48 image, got 64x64"):
        read_folders(root)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` grey pixels, with a few bytes of pixel data after it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side, message", [(5000, "got 5000x5000"), (20000, "got a far larger one")])
def test_a_huge_declared_size_is_refused_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int,
                                                         message: str) -> None:
    """A few hundred bytes declaring a huge image: refused by its header, never handed to the decoder."""
    import facemotion.data.gray48 as gray48

    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    (root / "train" / "sad" / "Training_huge.png").write_bytes(_png_header_only(side, side))
    real = gray48.cv2.imdecode

    def decode(data: np.ndarray, flags: int) -> np.ndarray:
        assert data.size != len(_png_header_only(side, side)), "the huge image was decoded"
        return real(data, flags)

    monkeypatch.setattr(gray48.cv2, "imdecode", decode)
    with pytest.raises(DataError, match=f"Training_huge.png: expected a 48x48 image, {message}"):
        read_folders(root)


def test_test_images_need_a_split_prefix(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    (root / "test" / "fear").mkdir(parents=True, exist_ok=True)
    import cv2

    cv2.imwrite(str(root / "test" / "fear" / "img_1.png"), images[0])
    with pytest.raises(DataError, match="PublicTest_\\* or PrivateTest_\\*"):
        read_folders(root)


def test_unknown_class_folder_and_missing_parts(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(10, 2, 2))
    (root / "train" / "contempt").mkdir()
    with pytest.raises(DataError, match="unknown class folder 'contempt'"):
        read_folders(root)
    with pytest.raises(DataError, match="missing folder train/"):
        read_folders(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        read_folders(tmp_path / "absent")


def test_a_pipe_named_like_an_image_is_skipped(tmp_path: Path) -> None:
    """A FIFO called *.jpg made load_fer2013 wait forever on its read."""
    import os

    images, labels = synthetic_images(21)
    root = write_fer_folders(tmp_path / "fer", images, labels, default_usages(7, 7, 7))
    (root / "train" / "angry").mkdir(exist_ok=True)
    os.mkfifo(root / "train" / "angry" / "pipe.jpg")
    data = read_folders(root)
    assert [len(data.train), len(data.val), len(data.test)] == [7, 7, 7]
