"""``run_batch(job)``: collect the inputs, skip the finished ones, run the rest on the chosen engine, write each
finished batch and record it in the manifest."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facemotion.batch.inputs import collect_inputs
from facemotion.batch.job import BatchError, BatchJob
from facemotion.batch.manifest import Manifest
from facemotion.batch.tables import Column, Table, open_table
from facemotion.batch.tasks import InputRows, error_rows, model_labels, task_columns

__all__ = ["BatchReport", "run_batch", "Progress"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""``progress(done, total)``: inputs finished in this run so far, and inputs this run has to do."""


@dataclass
class BatchReport:
    """What a run did: inputs found, already done before it, done now, with an error row, lost with a worker."""

    out: Path
    inputs: int = 0
    skipped: int = 0
    processed: int = 0
    failed: int = 0
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Inputs per second in this run."""
        return self.processed / self.seconds if self.seconds > 0 else 0.0


def _spec(job: BatchJob, labels: tuple[str, ...]) -> dict[str, Any]:
    recognizer = dict(job.recognizer)
    recognizer.setdefault("threads", 1)  # one core per worker: the workers are the parallelism
    return {"video": job.video, "recognizer": recognizer, "analyzer": dict(job.analyzer), "every": job.every,
            "csv_dir": str(job.out / "csv"), "labels": list(labels)}


def _engine(job: BatchJob, spec: dict[str, Any]) -> Any:
    if job.engine == "ray":
        from facemotion.batch.ray_engine import RayEngine

        return RayEngine(spec, job.workers, job.batch_size if not job.video else 1, job.address)
    from facemotion.batch.local import LocalEngine, default_workers

    return LocalEngine(spec, job.workers or default_workers())


def _open_output(job: BatchJob, labels: tuple[str, ...], columns: list[Column]) -> tuple[Manifest, Table]:
    """``job.out``'s manifest and table, new or resumed; a :class:`BatchError` naming ``--out`` where they cannot be
    made there (a folder where the CSV goes, a file where a folder must be, no permission, no such place)."""
    if not job.video and job.out.suffix.lower() == ".csv" and job.out.is_dir():
        raise BatchError(f"{job.out}: is a folder; a photo job's .csv output is a file, choose another --out")
    try:
        manifest = Manifest.open(job, labels)
        if not manifest.path.is_file():
            manifest.save()  # first: an output folder with our manifest is ours, even if killed at once
        if job.video:
            (job.out / "csv").mkdir(parents=True, exist_ok=True)
            for stale in (job.out / "csv").glob(".*.tmp"):
                stale.unlink()
        return manifest, open_table(job.out / "summary.csv" if job.video else job.out, columns, manifest)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(job.out) else ""
        raise BatchError(f"{job.out}: cannot write the output there: {exc.strerror or exc}{where}; choose another "
                         f"--out") from None


def run_batch(job: BatchJob, *, progress: Progress | None = None) -> BatchReport:
    """Run ``job`` to the end, or resume it when ``job.out`` holds its manifest.

    Raises:
        BatchError: the output belongs to another job, the engine cannot start, or the disk is full (what was
            finished is kept: the same command goes on from there).
    """
    started = time.perf_counter()
    found = collect_inputs(job.inputs, video=job.video, recursive=job.recursive, uris=job.engine == "ray")
    report = BatchReport(job.out, inputs=len(found.paths), notes=found.notes)
    labels = model_labels(job.recognizer)  # once, here: the columns, and part of what makes this job this job
    columns = task_columns(job.video, labels)
    error_at = [name for name, _ in columns].index("error")
    manifest, table = _open_output(job, labels, columns)
    try:
        todo = [p for p in found.paths if p not in manifest.done]
        report.skipped = len(found.paths) - len(todo)
        if report.skipped:
            logger.info("%s: %d of %d inputs already done; resuming", job.out, report.skipped, len(found.paths))

        def write(done: list[InputRows]) -> None:
            rows = [row for _, input_rows in done for row in input_rows]
            try:
                manifest.commit([path for path, _ in done], **table.append(rows))
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise BatchError(f"{job.out}: the disk is full ({exc.strerror}); the {len(manifest.done)} inputs "
                                     f"finished so far are kept in {manifest.path}: free some space and run the same "
                                     f"command again to go on") from None
                raise BatchError(f"{job.out}: cannot write the results ({exc.strerror or exc})") from None
            report.processed += len(done)
            report.failed += sum(1 for _, input_rows in done if input_rows[0][error_at] is not None)
            if progress is not None:
                progress(report.processed, len(todo))

        known = [(p, error_rows(job.video, p, found.errors[p], labels)) for p in todo if p in found.errors]
        if known:
            write(known)
        runnable = [p for p in todo if p not in found.errors]
        if runnable:
            engine = _engine(job, _spec(job, labels))
            size = 1 if job.video else job.batch_size  # one task per video
            batches = [runnable[i:i + size] for i in range(0, len(runnable), size)]
            for done in (engine.run(batches) if job.engine == "local" else engine.run(runnable, found.read_as)):
                write(done)
            report.lost = list(engine.lost)
        manifest.close()  # the journal folded into the snapshot
    finally:
        manifest.release()  # a run that stops early leaves the journal for the next open
    report.seconds = time.perf_counter() - started
    return report
