from __future__ import annotations

from pathlib import Path

import pytest

from facemotion.errors import ModelError
from facemotion.faces.yunet_model import (
    PACKAGED_YUNET,
    YUNET_FILENAME,
    YUNET_SHA256,
    cached_yunet_path,
    download_yunet,
    find_yunet_model,
    sha256_of,
)


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEMOTION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FACEMOTION_YUNET_MODEL", raising=False)
    assert cached_yunet_path() == tmp_path / "cache" / "models" / YUNET_FILENAME
    assert find_yunet_model() == PACKAGED_YUNET  # the wheel's copy, last
    cached = cached_yunet_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_yunet_model() == cached
    from_env = tmp_path / "env.onnx"
    from_env.write_bytes(b"x")
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(from_env))
    assert find_yunet_model() == from_env
    explicit = tmp_path / "explicit.onnx"
    explicit.write_bytes(b"x")
    assert find_yunet_model(explicit) == explicit


def test_the_package_ships_yunet_with_its_licence() -> None:
    assert PACKAGED_YUNET.name == YUNET_FILENAME and sha256_of(PACKAGED_YUNET) == YUNET_SHA256
    notice = (PACKAGED_YUNET.parent / "LICENSE-yunet.txt").read_text()
    assert "MIT License" in notice and "Shiqi Yu" in notice and "opencv_zoo" in notice


def test_download_checks_the_hash_and_leaves_nothing_behind_on_mismatch(tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    source.write_bytes(b"definitely not yunet")
    dest = tmp_path / "out" / YUNET_FILENAME
    with pytest.raises(ModelError, match="SHA-256"):
        download_yunet(dest, url=source.as_uri())
    assert list(dest.parent.iterdir()) == []
    assert download_yunet(dest.parent, url=source.as_uri(), sha256=sha256_of(source)) == dest  # a folder works
    assert dest.read_bytes() == source.read_bytes()


def test_download_reports_network_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not download"):
        download_yunet(tmp_path / "y.onnx", url=(tmp_path / "nowhere.onnx").as_uri())


@pytest.mark.integration
def test_download_into_the_cache_and_keep_a_good_copy(yunet_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("FACEMOTION_CACHE", str(tmp_path))
    assert sha256_of(yunet_path) == YUNET_SHA256
    path = download_yunet(url=yunet_path.as_uri())
    assert path == cached_yunet_path() and sha256_of(path) == YUNET_SHA256
    # A good copy is kept without touching the network (this URL would fail).
    assert download_yunet(url=(tmp_path / "nowhere").as_uri()) == path


def test_a_named_file_that_is_not_yunet_is_refused_unless_forced(yunet_path: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"someone's photo")
    with pytest.raises(ModelError, match="photo.jpg: exists and is not the YuNet model .* --force to replace it"):
        download_yunet(photo, url=yunet_path.as_uri())
    assert photo.read_bytes() == b"someone's photo"
    assert download_yunet(photo, url=yunet_path.as_uri(), force=True) == photo
    assert sha256_of(photo) == YUNET_SHA256 and photo.stat().st_mode & 0o777 == 0o644


def test_a_damaged_copy_in_the_cache_is_downloaded_again(yunet_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("FACEMOTION_CACHE", str(tmp_path))
    cached_yunet_path().parent.mkdir(parents=True)
    cached_yunet_path().write_bytes(b"half a download")
    assert sha256_of(download_yunet(url=yunet_path.as_uri())) == YUNET_SHA256


def test_the_cache_variable_expands_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FACEMOTION_CACHE", "~/fm-cache")
    assert cached_yunet_path().is_relative_to(tmp_path / "fm-cache")


def test_a_damaged_copy_in_a_folder_given_as_dest_is_downloaded_again(yunet_path: Path, tmp_path: Path) -> None:
    (tmp_path / YUNET_FILENAME).write_bytes(b"half a download")
    assert download_yunet(tmp_path, url=yunet_path.as_uri()) == tmp_path / YUNET_FILENAME
    assert sha256_of(tmp_path / YUNET_FILENAME) == YUNET_SHA256
