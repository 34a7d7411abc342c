"""Your own data: the folder forms and the manifest become the same split arrays, and bad input fails clearly."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from facemotion.data import data_form, load_dataset
from facemotion.errors import DataError, FacemotionError
from facemotion.inference.face_crops import face_decoder
from tests.data.own_images import LABELS3, label_folders, manifest, split_folders, write_image

GIVEN = face_decoder("given")


def load(path: Path, **kwargs: object):
    return load_dataset(path, decode=GIVEN, **kwargs)  # type: ignore[arg-type]


def test_split_folders_keep_their_split_and_sorted_labels(tmp_path: Path) -> None:
    data = load(split_folders(tmp_path / "d"))
    assert data_form(tmp_path / "d") == "split-folders"
    assert data.label_names == LABELS3
    assert (len(data.train), len(data.val), len(data.test)) == (30, 12, 9)
    assert data.train.images.shape[1:] == (48, 48) and data.train.images.dtype == np.uint8
    assert sorted(np.bincount(data.val.labels)) == [4, 4, 4]
    # the label is where the bright band is: the crops carry it (gray and colour, PNG and JPEG, any size)
    columns = data.train.images.mean(axis=1)
    bright = columns > columns.mean(axis=1, keepdims=True)
    centre = (bright * np.arange(48)).sum(axis=1) / bright.sum(axis=1)
    assert np.array_equal(np.round(centre / 12) - 1, data.train.labels)


def test_label_folders_are_split_stratified_seeded_and_recorded(tmp_path: Path) -> None:
    root = label_folders(tmp_path / "d", per_label=20)
    a = load(root, val_fraction=0.2, test_fraction=0.1, seed=3)
    b = load(root, val_fraction=0.2, test_fraction=0.1, seed=3, use_cache=False)
    assert data_form(root) == "label-folders"
    assert (len(a.train), len(a.val), len(a.test)) == (42, 12, 6)
    assert np.array_equal(a.val.images, b.val.images)
    assert a.notes["split"]["seed"] == 3 and len(a.notes["split"]["val_files"]) == 12
    c = load(root, val_fraction=0.2, test_fraction=0.1, seed=4)
    assert a.notes["split"]["val_files"] != c.notes["split"]["val_files"]


def test_labels_option_sets_the_order(tmp_path: Path) -> None:
    data = load(label_folders(tmp_path / "d", per_label=6), labels=["positive", "negative", "neutral"])
    assert data.label_names == ("positive", "negative", "neutral")
    with pytest.raises(DataError, match="lacks"):
        load(tmp_path / "d", labels=["positive", "negative"])
    with pytest.raises(DataError, match="no images"):
        load(tmp_path / "d", labels=["positive", "negative", "neutral", "angry"])


def test_manifest_paths_are_relative_to_it(tmp_path: Path) -> None:
    rows = []
    for k, name in enumerate(LABELS3):
        for i in range(6):
            split = "val" if i < 2 else "train"
            write_image(tmp_path / "imgs" / f"{name}{i}.png", k, seed=10 * k + i)
            rows.append((f"imgs/{name}{i}.png", name, split))
    data = load(manifest(tmp_path, rows))
    assert data_form(tmp_path / "faces.csv") == "manifest"
    assert (len(data.train), len(data.val), len(data.test)) == (12, 6, 0)


def test_cache_is_keyed_by_content(tmp_path: Path) -> None:
    root = split_folders(tmp_path / "d", {"train": 4, "val": 2})
    first = load(root)
    write_image(root / "train" / "neutral" / "train000.jpg", 2, seed=77)  # same name, other content
    second = load(root)
    assert not np.array_equal(first.train.images, second.train.images)


def test_fer2013_folder_form_is_still_fer2013(tmp_path: Path) -> None:
    for split, name in (("train", "a.png"), ("test", "PublicTest_1.png"), ("test", "PrivateTest_2.png")):
        write_image(tmp_path / split / "happy" / name, 1, seed=0)
    shutil.copy(tmp_path / "train" / "happy" / "a.png", tmp_path / "train" / "happy" / "b.png")
    assert data_form(tmp_path) == "fer2013"


# --- bad input: each names the file or row, before anything is trained -------------------------------------------


def test_unreadable_files_are_listed_and_skip_bad_skips_them(tmp_path: Path) -> None:
    root = label_folders(tmp_path / "d", per_label=6)
    (root / "neutral" / "notes.txt").write_text("not an image")
    (root / "positive" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match=r"2 file\(s\).*neutral/notes.txt.*--skip-bad"):
        load(root)
    data = load(root, skip_bad=True)
    assert len(data.train) + len(data.val) == 18
    assert sorted(s["file"] for s in data.notes["skipped"]) == ["neutral/notes.txt", "positive/broken.jpg"]


def test_a_file_too_large_to_be_a_photo_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import facemotion.data.own as own

    root = label_folders(tmp_path / "d", per_label=6)
    monkeypatch.setattr(own, "MAX_FILE_BYTES", 1_000_000)
    with (root / "neutral" / "disk.jpg").open("wb") as handle:  # sparse: a stray disk image's size, not its bytes
        handle.truncate(10**10)
    read_whole = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(AssertionError(self)) if
                        self.name == "disk.jpg" else read_whole(self))
    with pytest.raises(DataError, match=r"neutral/disk.jpg: 10,000,000,000 bytes, over the 1,000,000 a photo may have"):
        load(root, use_cache=False)
    assert len(load(root, skip_bad=True, use_cache=False).train) > 0


def test_a_file_that_changes_while_read_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = label_folders(tmp_path / "d", per_label=6)
    victim = sorted((root / "neutral").iterdir())[0]
    read_whole = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read_whole(self) + (b"x" if self == victim else b""))
    with pytest.raises(DataError, match=f"neutral/{victim.name}: changed while the data set was being read"):
        load(root, use_cache=False)


def test_label_folder_without_images(tmp_path: Path) -> None:
    root = label_folders(tmp_path / "d", per_label=4)
    (root / "bored").mkdir()
    with pytest.raises(DataError, match="bored: a label folder without images"):
        load(root)


def test_label_in_val_that_train_lacks(tmp_path: Path) -> None:
    root = split_folders(tmp_path / "d", {"train": 3, "val": 2})
    write_image(root / "val" / "contempt" / "x.png", 0, seed=1)
    with pytest.raises(DataError, match="'contempt' is in val/ but not in train/"):
        load(root)


def test_fewer_than_two_labels(tmp_path: Path) -> None:
    root = label_folders(tmp_path / "d", per_label=5, labels=("happy",))
    with pytest.raises(DataError, match="at least two labels"):
        load(root)


def test_same_image_in_two_splits_warns_with_the_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = split_folders(tmp_path / "d", {"train": 4, "val": 2})
    shutil.copy(root / "train" / "neutral" / "train000.jpg", root / "val" / "neutral" / "copy.jpg")
    shutil.copy(root / "train" / "positive" / "train001.png", root / "val" / "positive" / "copy.png")
    with caplog.at_level(logging.WARNING, logger="facemotion"):
        data = load(root)
    assert data.notes["leaks"] == 2
    assert "2 image(s) appear, byte for byte, in more than one split" in caplog.text


def test_manifest_missing_file_names_its_row(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 0, seed=0)
    path = manifest(tmp_path, [("a.png", "negative", "train"), ("gone.png", "positive", "train")])
    with pytest.raises(DataError, match=r"gone.png \(row 3\): no such file"):
        load(path)


def test_manifest_rows_naming_a_folder_or_one_file_twice_with_two_labels(tmp_path: Path) -> None:
    for i in range(3):
        write_image(tmp_path / f"{i}.png", i * 80, seed=i)
    (tmp_path / "album").mkdir()
    path = manifest(tmp_path, [("0.png", "negative", "train"), ("1.png", "positive", "train"),
                               ("album", "positive", "train"), ("2.png", "negative", "val"),
                               ("2.png", "positive", "val")])
    with pytest.raises(DataError, match=r"3 file\(s\) cannot be used") as info:
        load(path)
    for part in ("album (row 4): a folder, not an image file", "2.png (row 5): listed with two labels (negative, "
                 "positive)", "2.png (row 6): listed with two labels"):
        assert part in str(info.value)


def test_a_manifest_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    rows = [f"{i}.png,negative,train" for i in range(2000)]  # past the reader's first chunk
    path = tmp_path / "faces.csv"
    path.write_bytes(("path,label,split\n" + "\n".join(rows) + "\n").encode() + b"caf\xe9.png,positive,train\n")
    with pytest.raises(DataError, match=r"faces.csv, row 2002: not UTF-8 text"):
        load(path)


def test_manifest_unknown_split(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 0, seed=0)
    path = manifest(tmp_path, [("a.png", "negative", "train"), ("a.png", "positive", "holdout")])
    with pytest.raises(DataError, match=r"row 3: unknown split 'holdout'"):
        load(path)


def test_no_validation_images_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no validation images"):
        load(label_folders(tmp_path / "d", per_label=4), val_fraction=0.0)


def test_detect_lists_and_skips_photos_without_a_face(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class NoFace:  # a detector stand-in: the band images hold no face
        name = "stub"

        def detect(self, image: np.ndarray) -> list:
            return []

    from facemotion.inference.face_crops import ImageFaceDecoder

    root = label_folders(tmp_path / "d", per_label=3)
    with caplog.at_level(logging.WARNING, logger="facemotion"), pytest.raises(DataError, match="no training images"):
        load_dataset(root, decode=ImageFaceDecoder(NoFace()))  # type: ignore[arg-type]
    assert "no face found in" in caplog.text


def test_own_data_needs_a_decoder_and_fer2013_refuses_labels(tmp_path: Path) -> None:
    root = label_folders(tmp_path / "d", per_label=3)
    with pytest.raises(FacemotionError, match="face decoder"):
        load_dataset(root)
