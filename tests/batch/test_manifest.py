"""The manifest: a snapshot and a journal of finished batches; a torn last line ignored, replays harmless."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from facemotion.batch import BatchError, BatchJob
from facemotion.batch.manifest import Manifest, journal_path, manifest_path
from facemotion.labels import EMOTIONS


def _job(out: Path) -> BatchJob:
    return BatchJob(inputs=("photos",), out=out, recognizer={"detector": "none"})


def test_batches_are_journal_lines_folded_in_on_open(tmp_path: Path) -> None:
    job = _job(tmp_path / "r.parquet")
    manifest = Manifest.open(job, EMOTIONS)
    manifest.save()
    snapshot = manifest_path(job.out).read_text()
    manifest.commit(["a", "b"], part="part-000000.parquet")
    manifest.commit(["c"], part="part-000001.parquet")
    assert manifest_path(job.out).read_text() == snapshot  # per batch: a line, not the whole list again
    assert [json.loads(line)["inputs"] for line in journal_path(job.out).read_text().splitlines()] == [["a", "b"],
                                                                                                      ["c"]]
    with journal_path(job.out).open("a") as handle:
        handle.write('{"inputs": ["d"], "part": "part-0000')  # the kill landed mid-line
    again = Manifest.open(job, EMOTIONS)
    assert again.done == {"a", "b", "c"} and again.parts == ["part-000000.parquet", "part-000001.parquet"]
    assert not journal_path(job.out).exists()  # compacted into the snapshot
    assert set(json.loads(manifest_path(job.out).read_text())["done"]) == {"a", "b", "c"}


def test_a_journal_replayed_twice_changes_nothing(tmp_path: Path) -> None:
    """Killed after the snapshot was written but before the journal was removed: the lines are applied again."""
    job = _job(tmp_path / "r.csv")
    manifest = Manifest.open(job, EMOTIONS)
    manifest.committed_bytes = 10
    manifest.save()
    manifest.commit(["a"], size=20)
    manifest.commit(["b"], size=30)
    kept = tmp_path / "journal"
    shutil.copy(journal_path(job.out), kept)
    manifest.close()
    shutil.copy(kept, journal_path(job.out))
    again = Manifest.open(job, EMOTIONS)
    assert (again.done, again.committed_bytes, again.parts) == ({"a", "b"}, 30, [])


def test_a_broken_line_before_the_last_is_refused(tmp_path: Path) -> None:
    job = _job(tmp_path / "r.csv")
    Manifest.open(job, EMOTIONS).save()
    journal_path(job.out).write_text('not json\n{"inputs": ["a"], "part": null, "size": 5}\n')
    with pytest.raises(BatchError, match=r"r.csv.manifest.journal, line 1: not a batch record"):
        Manifest.open(job, EMOTIONS)


def test_another_models_labels_are_another_job(tmp_path: Path) -> None:
    job = _job(tmp_path / "r.csv")
    Manifest.open(job, EMOTIONS).save()
    with pytest.raises(BatchError, match=r"another job \(labels was \['angry'.*now \['calm', 'glad'\]\)"):
        Manifest.open(job, ("calm", "glad"))


@pytest.mark.parametrize("damage", [
    lambda saved: {"format": saved["format"]},  # fields missing
    lambda saved: [],  # not an object
    lambda saved: {**saved, "done": "a"},  # a string where the list of inputs goes
    lambda saved: {**saved, "committed_bytes": "many"},
])
def test_a_damaged_snapshot_is_refused_by_name(tmp_path: Path, damage: object) -> None:
    job = _job(tmp_path / "r.csv")
    Manifest.open(job, EMOTIONS).save()
    path = manifest_path(job.out)
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    with pytest.raises(BatchError, match=r"r.csv.manifest.json: not a readable facemotion batch manifest"):
        Manifest.open(job, EMOTIONS)
