"""Bulk inference: photos and videos by the thousand, on a local process pool or on a Ray cluster, resumable.

A thin adapter over :class:`~facemotion.inference.recognizer.Recognizer` like ``video`` and ``serving``: one job
description (:class:`BatchJob`), two engines behind it (:mod:`~facemotion.batch.local`,
:mod:`~facemotion.batch.ray_engine`), one manifest that makes a job resumable and the writers of its rows. Ray is
imported only by the Ray engine, only when it is asked for.

Example::

    from facemotion.batch import BatchJob, run_batch

    report = run_batch(BatchJob(inputs=("photos/",), out=Path("emotions.parquet"), workers=4))
    print(report.processed, "photos,", report.rate, "per second")
"""

from __future__ import annotations

from facemotion.batch.job import BatchError, BatchJob
from facemotion.batch.runner import BatchReport, run_batch

__all__ = ["BatchJob", "BatchError", "BatchReport", "run_batch"]
