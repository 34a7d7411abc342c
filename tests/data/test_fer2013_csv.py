from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from facemotion.data import read_csv
from facemotion.errors import DataError
from tests.conftest import default_usages, synthetic_images, write_fer_csv

HEADER = "emotion,pixels,Usage\n"
GOOD_PIXELS = " ".join(["7"] * 2304)


def test_reads_splits_labels_and_pixels(tmp_path: Path) -> None:
    images, labels = synthetic_images(30)
    path = write_fer_csv(tmp_path / "f.csv", images, labels, default_usages(20, 5, 5))
    data = read_csv(path)
    assert [len(data.train), len(data.val), len(data.test)] == [20, 5, 5]
    np.testing.assert_array_equal(data.train.images, images[:20])
    np.testing.assert_array_equal(data.test.labels, labels[25:])
    assert data.train.images.dtype == np.uint8 and data.train.images.shape[1:] == (48, 48)


def test_gzip_gives_the_same_arrays(tmp_path: Path) -> None:
    images, labels = synthetic_images(14)
    usages = default_usages(10, 2, 2)
    plain = read_csv(write_fer_csv(tmp_path / "f.csv", images, labels, usages))
    zipped = read_csv(write_fer_csv(tmp_path / "f.csv.gz", images, labels, usages))
    assert plain.content_hash() == zipped.content_hash()


def _write(tmp_path: Path, body: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message", "row"),
    [
        (HEADER + f"0,{GOOD_PIXELS},Training\n3,{' '.join(['1'] * 2300)},Training\n", "expected 2304 pixel values", 3),
        (HEADER + f"0,{GOOD_PIXELS[:-1]}x,Training\n", "non-numeric pixel value", 2),
        (HEADER + f"9,{GOOD_PIXELS},Training\n", "outside 0-6", 2),
        (HEADER + f"-1,{GOOD_PIXELS},Training\n", "outside 0-6", 2),
        (HEADER + f"happy,{GOOD_PIXELS},Training\n", "not an integer", 2),
        (HEADER + f"0,{GOOD_PIXELS},Validation\n", "unknown Usage 'Validation'", 2),
        (HEADER + f"0,{' '.join(['300'] * 2304)},Training\n", "0-255", 2),
        (HEADER + f"0,{GOOD_PIXELS}\n", "expected 3 fields", 2),
    ],
)
def test_bad_rows_name_the_file_and_row(tmp_path: Path, body: str, message: str, row: int) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(DataError, match=message) as info:
        read_csv(path)
    assert info.value.row == row
    assert str(path) in str(info.value) and f"row {row}" in str(info.value)


def test_missing_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing column.*Usage"):
        read_csv(_write(tmp_path, f"emotion,pixels\n0,{GOOD_PIXELS}\n"))


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        read_csv(_write(tmp_path, ""))
    with pytest.raises(DataError, match="no rows"):
        read_csv(_write(tmp_path, HEADER, "header.csv"))


def test_missing_and_corrupt_gzip(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_csv(tmp_path / "absent.csv")
    bad = tmp_path / "broken.csv.gz"
    payload = gzip.compress((HEADER + f"0,{GOOD_PIXELS},Training\n").encode())
    bad.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataError, match="cannot read"):
        read_csv(bad)


@pytest.mark.parametrize("token, message", [
    ("--5", "non-numeric pixel value '--5'"),
    ("\u00b2", "non-numeric pixel value '\u00b2'"),  # '²' passes str.isdigit() but not int()
    ("\u0663", "non-numeric pixel value"),  # an Arabic-Indic 3: int() takes it, FER2013 has none
    ("99999999999999999999", "0-255, got 99999999999999999999"),  # over int64: OverflowError before
    ("9" * 5000, "0-255, got 999999999999999999999999..."),  # over int()'s 4,300-digit limit
])
def test_hostile_pixel_values_name_the_row(tmp_path: Path, token: str, message: str) -> None:
    """These raised StopIteration or OverflowError instead of a DataError naming the row."""
    pixels = " ".join([token] + ["7"] * 2303)
    path = _write(tmp_path, f"{HEADER}0,{pixels},Training\n0,{GOOD_PIXELS},PublicTest\n")
    with pytest.raises(DataError, match="row 2") as info:
        read_csv(path)
    assert message in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("name", ["bom.csv", "bom.csv.gz"])
def test_a_byte_order_mark_is_read(tmp_path: Path, name: str) -> None:
    """Excel saves UTF-8 CSVs with a BOM, which read as part of the first column's name ('missing emotion')."""
    images, labels = synthetic_images(7)
    plain = read_csv(write_fer_csv(tmp_path / "plain.csv", images, labels, default_usages(5, 1, 1)))
    text = (tmp_path / "plain.csv").read_text()
    path = tmp_path / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8-sig", newline="") as handle:
        handle.write(text)
    raw = path.read_bytes()
    assert (gzip.decompress(raw) if name.endswith(".gz") else raw).startswith(b"\xef\xbb\xbf")
    assert read_csv(path).content_hash() == plain.content_hash()
