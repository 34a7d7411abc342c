"""The manifest that makes a bulk job resumable: which inputs are finished and which output bytes or parts hold them.

Two files: a snapshot (``_manifest.json``: the job, the finished inputs, the parts or CSV size), written atomically,
and a journal beside it (``_manifest.journal``), one JSON line per finished batch, appended and fsynced *after* that
batch's rows are on disk. Per batch the cost is one line (not the whole list of finished inputs, which grows with
the job); the journal is folded into the snapshot, atomically, when the job is opened and when it ends.

A job killed at any moment therefore leaves a snapshot and journal that name only inputs whose rows are written (a
line torn by the kill, the last one, is ignored: its batch is done again); rows written after the last line (a CSV's
tail, a Parquet part) are dropped when the job is resumed, so every input is in the output exactly once. Replaying a
line twice changes nothing, so a kill between writing the snapshot and removing the journal is harmless too.

The settings that change the rows are recorded, the model's labels (the table's columns) among them: an output
folder that holds another job's manifest is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from facemotion.batch.job import BatchError, BatchJob
from facemotion.paths import write_atomic

__all__ = ["MANIFEST_FORMAT", "Manifest", "manifest_path", "journal_path"]

MANIFEST_FORMAT = "facemotion-batch/2"


def manifest_path(out: Path) -> Path:
    """``OUT/_manifest.json`` for a folder output (Parquet parts, videos), ``OUT.manifest.json`` beside a CSV. The
    leading underscore keeps Parquet readers (pyarrow, pandas, Spark) from taking it for data."""
    return out.with_name(out.name + ".manifest.json") if out.suffix.lower() == ".csv" else out / "_manifest.json"


def journal_path(out: Path) -> Path:
    """The journal of finished batches beside the snapshot: ``OUT/_manifest.journal`` or ``OUT.manifest.journal``."""
    return manifest_path(out).with_suffix(".journal")


def _identity(job: BatchJob, labels: Sequence[str]) -> tuple[dict[str, Any], str]:
    """The job's fingerprint with its model's labels, and the id derived from both."""
    record = {**job.fingerprint, "labels": list(labels)}
    return record, hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Manifest:
    """The finished inputs of one job and where their rows are."""

    path: Path
    job_id: str
    job: dict[str, Any]
    done: set[str] = field(default_factory=set)
    parts: list[str] = field(default_factory=list)
    committed_bytes: int = 0
    created: float = field(default_factory=time.time)
    _journal: IO[str] | None = field(default=None, repr=False, compare=False)

    @property
    def journal(self) -> Path:
        return self.path.with_suffix(".journal")

    @classmethod
    def open(cls, job: BatchJob, labels: Sequence[str]) -> Manifest:
        """The manifest of ``job.out`` (for a model with these ``labels``): read, journal replayed, checked to belong
        to this job, and compacted; or new.

        Raises:
            BatchError: the output exists but is not this job's (another job's manifest, or no manifest at all).
        """
        path = manifest_path(job.out)
        record, job_id = _identity(job, labels)
        if not path.is_file():
            if job.out.exists() and (job.out.is_file() or any(job.out.iterdir())):
                raise BatchError(f"{job.out}: exists and is not the output of a facemotion batch job (no "
                                 f"{path.name}); choose another --out or remove it")
            return cls(path, job_id, record)
        try:
            saved = json.loads(path.read_text())
            if not isinstance(saved, dict) or saved.get("format") != MANIFEST_FORMAT:
                found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
                raise ValueError(f"format {found!r}, expected {MANIFEST_FORMAT!r}")
            manifest = cls(path, str(saved["job_id"]), dict(saved["job"]), set(_strings(saved["done"])),
                           _strings(saved["parts"]), int(saved["committed_bytes"]), float(saved["created"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise BatchError(f"{path}: not a readable facemotion batch manifest ({reason}); choose another --out") \
                from exc
        if manifest.job_id != job_id:
            differences = _differences(manifest.job, record)
            raise BatchError(f"{job.out}: holds the output of another job ({differences}"
                             f"); choose another --out, or rerun with that job's settings to resume it")
        manifest._replay()
        manifest.save()
        return manifest

    def _replay(self) -> None:
        """Apply the journal's lines; the last one may be torn by a kill (no newline, or not JSON): ignored."""
        try:
            text = self.journal.read_text()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise BatchError(f"{self.journal}: cannot read the journal of finished batches ({exc})") from exc
        lines = text.split("\n")
        for number, line in enumerate(lines[:-1], 1):  # lines[-1]: empty, or the torn tail of the last write
            try:
                entry = json.loads(line)
                self._apply(list(entry["inputs"]), entry.get("part"), entry.get("size"))
            except (ValueError, KeyError, TypeError) as exc:
                raise BatchError(f"{self.journal}, line {number}: not a batch record ({exc}); choose another "
                                 f"--out") from exc

    def _apply(self, inputs: list[str], part: str | None, size: int | None) -> None:
        self.done.update(inputs)
        if part is not None and part not in self.parts:
            self.parts.append(part)
        if size is not None:
            self.committed_bytes = int(size)

    def commit(self, inputs: list[str], *, part: str | None = None, size: int | None = None) -> None:
        """Record ``inputs`` as finished (their rows already written to ``part`` or up to ``size`` bytes): one
        journal line, fsynced before this returns."""
        if self._journal is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = self.journal.open("a", encoding="utf-8")
        line = json.dumps({"inputs": inputs, "part": part, "size": size}) + "\n"
        self._journal.write(line)
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._apply(inputs, part, size)

    def save(self) -> None:
        """Write the snapshot atomically, with everything committed so far, then drop the journal it holds."""
        self.release()
        record = {"format": MANIFEST_FORMAT, "job_id": self.job_id, "job": self.job, "created": self.created,
                  "updated": time.time(), "committed_bytes": self.committed_bytes, "parts": self.parts,
                  "done": sorted(self.done)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(record, indent=1) + "\n")
        self.journal.unlink(missing_ok=True)

    def close(self) -> None:
        """Fold the journal into the snapshot (the end of a run)."""
        self.save()

    def release(self) -> None:
        """Close the journal (a run that stops early: the next open folds it in)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _strings(value: Any) -> list[str]:
    """A saved list of input paths or part names, checked: a damaged manifest must not pass as an empty job."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"expected a list of names, got {type(value).__name__}")
    return value


def _differences(then: dict[str, Any], now: dict[str, Any], prefix: str = "") -> str:
    """``recognizer.detector was 'none', now 'haar'``: the settings that make the two jobs differ."""
    out = []
    for key in sorted(set(then) | set(now)):
        a, b = then.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            if inner := _differences(a, b, f"{prefix}{key}."):
                out.append(inner)
        elif a != b:
            out.append(f"{prefix}{key} was {a!r}, now {b!r}")
    return ", ".join(out)
