"""The Ray engine on a local Ray (``ray.init(num_cpus=2)``): the same rows as the local engine, for photos and
videos, and the Ray-side bad inputs (not installed, unreachable address). Skipped, saying why, without Ray."""

from __future__ import annotations

import csv
import socket
import sys
import time
from pathlib import Path

import pytest

from facemotion.batch import BatchError, BatchJob, run_batch
from facemotion.batch.ray_engine import check_address, import_ray, pool_size
from tests.batch.helpers import write_photos, write_videos


@pytest.fixture(scope="module")
def ray_session():  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'facemotion[ray]'")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # no shared memory, no free ports...
        pytest.skip(f"a local Ray cannot start here: {exc}")
    yield ray
    ray.shutdown()


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return [header, *sorted(rows)]


def test_ray_gives_the_rows_of_the_local_engine(ray_session: object, brightness_onnx: Path, tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", 30)
    videos = write_videos(tmp_path / "videos", 2)
    recognizer = {"model": str(brightness_onnx), "detector": "none"}
    for engine in ("local", "ray"):
        run_batch(BatchJob(inputs=(str(photos),), out=tmp_path / f"{engine}.csv", recognizer=recognizer,
                           engine=engine, workers=2, batch_size=8))
        report = run_batch(BatchJob(inputs=(str(videos),), out=tmp_path / f"{engine}-videos", video=True,
                                    recognizer=recognizer, engine=engine, workers=2))
        assert report.processed == 2 and report.failed == 0
    assert _rows(tmp_path / "ray.csv") == _rows(tmp_path / "local.csv")
    for name in ("clip0", "clip1"):
        [a] = (tmp_path / "local-videos" / "csv").glob(f"{name}-*.csv")
        [b] = (tmp_path / "ray-videos" / "csv").glob(f"{name}-*.csv")
        assert a.name == b.name and a.read_text() == b.read_text()


def test_ray_resumes_a_local_job(ray_session: object, brightness_onnx: Path, tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", 12)
    job = {"out": tmp_path / "r.csv", "recognizer": {"model": str(brightness_onnx), "detector": "none"},
           "workers": 2, "batch_size": 4}
    run_batch(BatchJob(inputs=(str(photos / "p000*.png"),), **job))
    report = run_batch(BatchJob(inputs=(str(photos),), engine="ray", **job))
    assert (report.skipped, report.processed) == (10, 3)
    assert len(_rows(tmp_path / "r.csv")) == 14


def test_ray_resumes_over_a_uri(ray_session: object, brightness_onnx: Path, tmp_path: Path) -> None:
    """Ray reports URI inputs without their scheme: the manifest named those, so a rerun did everything again."""
    photos = write_photos(tmp_path / "photos", 6)
    job = {"out": tmp_path / "r.csv", "recognizer": {"model": str(brightness_onnx), "detector": "none"},
           "engine": "ray", "workers": 2, "batch_size": 4}
    first = run_batch(BatchJob(inputs=(str(photos / "p000[0-3].png"),), **{**job, "engine": "local"}))
    assert first.processed == 4
    report = run_batch(BatchJob(inputs=(photos.as_uri(),), **job))  # the same files as URIs: other inputs
    assert (report.inputs, report.skipped, report.processed, report.failed) == (7, 0, 7, 1)
    again = run_batch(BatchJob(inputs=(photos.as_uri(),), **job))
    assert (again.skipped, again.processed) == (7, 0)
    header, *rows = _rows(tmp_path / "r.csv")
    uris = [row[0] for row in rows if row[0].startswith("file://")]
    assert sorted(uris) == sorted(p.as_uri() for p in photos.glob("*.png"))  # named as given, each once
    assert len(rows) == 11


def test_unreachable_address_is_refused_quickly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    with pytest.raises(BatchError, match=rf"cannot reach a Ray cluster at 127.0.0.1:{port}.*ray start --head"):
        check_address(f"127.0.0.1:{port}")
    with pytest.raises(BatchError, match="expected auto, HOST:PORT"):
        check_address("nowhere")
    for address in ("h" * 300 + ":80", "127.0.0.1:99999"):  # a host IDNA refuses; a port over 65535
        with pytest.raises(BatchError, match="cannot reach a Ray cluster at"):
            check_address(address)
    assert time.monotonic() - started < 10


def test_ray_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BatchError, match=r"pip install 'facemotion\[ray\]'"):
        import_ray()


@pytest.mark.parametrize(("requested", "cpus", "inputs", "batch_size", "want"), [
    (0, 16.0, 1000, 10, 16),      # 0: one actor per CPU of the cluster
    (0, 16.0, 30, 10, 3),         # never more actors than batches: each would load a model to sit idle
    (100_000, 2.0, 5, 1, 5),      # the most a user may ask for, capped by the work there is
    (4, 2.0, 0, 10, 1),           # nothing to do still makes a valid pool
    (0, 0.5, 100, 10, 1),         # a cluster reporting under one CPU gets one actor
])
def test_the_actor_pool_is_sized_by_the_work(requested: int, cpus: float, inputs: int, batch_size: int,
                                             want: int) -> None:
    assert pool_size(requested, cpus, inputs, batch_size) == want
