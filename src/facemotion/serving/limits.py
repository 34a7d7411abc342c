"""Admission control for CPU-bound work: a fixed thread pool behind a counter that refuses, never queues without end.

An HTTP server that hands every request to an unbounded executor queue stays "up" while its latency grows without
limit; a client then times out and retries, adding more. Here a request is admitted only while fewer than
``workers + max_queue`` are in flight; the next one is refused at once (the app answers 503 with ``Retry-After``).
A slot is held from admission until the work has really finished: a request that timed out on the client side
keeps its slot while its thread still runs, so a timeout can never let more work in than the cores can do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Saturated", "WorkLimiter", "Slot"]

T = TypeVar("T")


class Saturated(Exception):
    """Every slot is taken: the caller should come back later."""


class WorkLimiter:
    """``workers`` threads running at most ``workers + max_queue`` admitted jobs."""

    def __init__(self, *, workers: int, max_queue: int, name: str = "facemotion-infer") -> None:
        if workers < 1 or max_queue < 0:
            raise ValueError(f"workers must be >= 1 and max_queue >= 0, got {workers} and {max_queue}")
        self.workers = workers
        self.capacity = workers + max_queue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()  # released from pool threads too
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Admitted requests not yet finished (running, waiting for a worker, or still uploading)."""
        return self._in_flight

    def admit(self) -> Slot:
        """A slot for one request, or :class:`Saturated` when all are taken."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise Saturated(f"{self._in_flight} requests in flight, the limit is {self.capacity}")
            self._in_flight += 1
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def shutdown(self) -> None:
        """Stop taking work; jobs not yet started are dropped, running ones finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class Slot:
    """One admitted request: run its job on the pool, then :meth:`release` (also done by ``with``)."""

    def __init__(self, limiter: WorkLimiter) -> None:
        self._limiter = limiter
        self._job: Future[Any] | None = None
        self._released = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a pool thread; awaiting it does not block the event loop. One job per slot."""
        if self._job is not None:
            raise RuntimeError("a slot runs one job")
        self._job = self._limiter._pool.submit(fn, *args)
        return await asyncio.wrap_future(self._job)

    def release(self) -> None:
        """Give the slot back now, or when the job finishes if it is still running (it cannot be interrupted)."""
        if self._released:
            return
        self._released = True
        job = self._job
        if job is not None and not job.done():
            job.cancel()  # succeeds only if it has not started yet; then the callback runs at once
            job.add_done_callback(lambda _: self._limiter._release())
        else:
            self._limiter._release()

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
