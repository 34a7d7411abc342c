"""The manifest that makes a bulk job resumable: which inputs are finished and which output bytes or parts hold them.

It is rewritten atomically after every finished batch, *after* that batch's rows are on disk. A job killed at any
moment therefore leaves a manifest that names only inputs whose rows are written; rows written after the last
manifest (a CSV's tail, a Parquet part) are dropped when the job is resumed, so every input is in the output exactly
once. Settings that change the rows are recorded too: an output folder that holds another job's manifest is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facemotion.batch.job import BatchError, BatchJob
from facemotion.paths import write_atomic

__all__ = ["MANIFEST_FORMAT", "Manifest", "manifest_path"]

MANIFEST_FORMAT = "facemotion-batch/1"


def manifest_path(out: Path) -> Path:
    """``OUT/_manifest.json`` for a folder output (Parquet parts, videos), ``OUT.manifest.json`` beside a CSV. The
    leading underscore keeps Parquet readers (pyarrow, pandas, Spark) from taking it for data."""
    return out.with_name(out.name + ".manifest.json") if out.suffix.lower() == ".csv" else out / "_manifest.json"


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

    @classmethod
    def open(cls, job: BatchJob) -> Manifest:
        """The manifest of ``job.out``: read (and checked to belong to this job) or new.

        Raises:
            BatchError: the output exists but is not this job's (another job's manifest, or no manifest at all).
        """
        path = manifest_path(job.out)
        if not path.is_file():
            if job.out.exists() and (job.out.is_file() or any(job.out.iterdir())):
                raise BatchError(f"{job.out}: exists and is not the output of a facemotion batch job (no "
                                 f"{path.name}); choose another --out or remove it")
            return cls(path, job.job_id, job.fingerprint)
        try:
            record = json.loads(path.read_text())
            if record.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {record.get('format')!r}")
        except (OSError, ValueError) as exc:
            raise BatchError(f"{path}: not a readable facemotion batch manifest ({exc}); choose another --out") \
                from exc
        if record["job_id"] != job.job_id:
            differences = _differences(record["job"], job.fingerprint)
            raise BatchError(f"{job.out}: holds the output of another job ({differences}"
                             f"); choose another --out, or rerun with that job's settings to resume it")
        return cls(path, record["job_id"], record["job"], set(record["done"]), list(record["parts"]),
                   int(record["committed_bytes"]), float(record["created"]))

    def commit(self, inputs: list[str], *, part: str | None = None, size: int | None = None) -> None:
        """Record ``inputs`` as finished (their rows already written to ``part`` or up to ``size`` bytes)."""
        self.done.update(inputs)
        if part is not None:
            self.parts.append(part)
        if size is not None:
            self.committed_bytes = size
        self.save()

    def save(self) -> None:
        record = {"format": MANIFEST_FORMAT, "job_id": self.job_id, "job": self.job, "created": self.created,
                  "updated": time.time(), "committed_bytes": self.committed_bytes, "parts": self.parts,
                  "done": sorted(self.done)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(record, indent=1) + "\n")


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
