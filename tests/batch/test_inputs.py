"""A bulk job's inputs: the expansion ``predict`` uses (one function, one suffix list), symlink loops, pipes and
files reached twice; URIs listed file by file (the Ray engine) or refused (the local one)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemotion.batch.inputs import collect_inputs
from facemotion.cli import predict as predict_cli
from facemotion.inputs import IMAGE_SUFFIXES, expand_inputs


def _collect(*given: str, **kwargs: object):  # type: ignore[no-untyped-def]
    """collect_inputs, bounded in time: a symlink loop made glob.glob run for hours."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(collect_inputs(list(given), video=False, **kwargs)),
                              daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), f"collect_inputs{given} still running after 20 s"
    return result[0]


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    """a.jpg, sub/b.jpg, two links to the folder itself, a FIFO named pipe.jpg and a link to a.jpg."""
    root = tmp_path / "loop"
    (root / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.jpg"):
        cv2.imwrite(str(root / name), np.zeros((4, 4, 3), np.uint8))
    (root / "self").symlink_to(root)
    (root / "sub" / "up").symlink_to(root)
    os.mkfifo(root / "pipe.jpg")
    (tmp_path / "alias.jpg").symlink_to(root / "a.jpg")
    return root


def test_globs_do_not_follow_symlink_loops_nor_open_pipes(loop: Path) -> None:
    expected = [str(loop / "a.jpg"), str(loop / "sub" / "b.jpg")]
    found = _collect(str(loop / "**" / "*.jpg"))
    assert found.paths == expected and found.errors == {}
    assert _collect(str(loop / "*.jpg")).paths == expected[:1]  # the FIFO matched by the glob is skipped
    assert _collect(str(loop), recursive=True).paths == expected
    named = _collect(str(loop / "pipe.jpg"))
    assert "not a regular file" in named.errors[str(loop / "pipe.jpg")]


def test_a_file_reached_twice_is_listed_once(loop: Path) -> None:
    found = _collect(str(loop / "a.jpg"), str(loop / "self" / "a.jpg"), str(loop.parent / "alias.jpg"),
                     str(loop / "*.jpg"))
    assert found.paths == [str(loop / "a.jpg")]


def test_batch_and_predict_expand_alike_with_one_suffix_list(loop: Path, tmp_path: Path) -> None:
    assert predict_cli.IMAGE_SUFFIXES is IMAGE_SUFFIXES
    (tmp_path / "mixed").mkdir()
    for name in ("x.png", "y.webp", "z.txt"):
        (tmp_path / "mixed" / name).write_bytes(b"")
    (tmp_path / "mixed" / "clip.mp4").write_bytes(b"")
    for given in ([str(loop)], [str(loop / "**" / "*.jpg")], [str(tmp_path / "mixed"), str(loop / "a.jpg")]):
        assert _collect(*given).paths == [p for p, _ in expand_inputs(given)], given
    assert _collect(str(tmp_path / "mixed")).notes == [
        f"{tmp_path / 'mixed'}: skipped 1 video file; process them in a job with --video"]


def test_uris_are_listed_for_ray_and_refused_locally(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png", "notes.txt"):
        (photos / name).write_bytes(b"")
    uri = photos.as_uri()
    found = _collect(uri, uris=True, recursive=True)
    assert found.paths == [(photos / "a.png").as_uri(), (photos / "sub" / "b.png").as_uri()]
    assert found.read_as == {(photos / "a.png").as_uri(): str(photos / "a.png"),
                             (photos / "sub" / "b.png").as_uri(): str(photos / "sub" / "b.png")}
    assert _collect(uri, uris=True).paths == [(photos / "a.png").as_uri()]
    missing = (tmp_path / "nowhere").as_uri()
    assert "no such file or folder" in _collect(missing, uris=True).errors[missing]
    assert "--engine ray only" in _collect(uri).errors[uri]
