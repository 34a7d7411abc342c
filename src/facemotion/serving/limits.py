"""Admission control for CPU-bound work: a fixed thread pool behind a counter that refuses, never queues without end.

An HTTP server that hands every request to an unbounded executor queue stays "up" while its latency grows without
limit; a client then times out and retries, adding more. Here a request is admitted only while fewer than
``workers + max_queue`` are in flight; the next one is refused at once (the app answers 503 with ``Retry-After``).
A slot is held from admission until the work has really finished: a request that timed out on the client side
keeps its slot while its thread still runs, so a timeout can never let more work in than the cores can do.

Uploads are read before a slot is taken, so a client that sends its body slowly holds no slot; the bytes read and
not yet answered are bounded instead by an :class:`UploadBudget`, so memory stays bounded however many uploads are
under way, and trickling uploads cost a connection each but no capacity.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Saturated", "WorkLimiter", "Slot", "UploadBudget", "HeldBytes"]

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
        """Admitted requests not yet finished (running or waiting for a worker)."""
        return self._in_flight

    @property
    def saturated(self) -> bool:
        """Every slot is taken now: a request can be refused before its upload is read."""
        return self._in_flight >= self.capacity

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

    @property
    def job(self) -> Future[Any] | None:
        """The pool's future for this slot's job (None before :meth:`run`); it may outlive a timed-out request."""
        return self._job

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


class UploadBudget:
    """A bound on the upload bytes held at once (read, not yet answered), shared by every request.

    Each request takes bytes as its chunks arrive and gives them all back when it is answered; a chunk that would
    pass the bound raises :class:`Saturated` (the app answers 503), so a burst of large uploads cannot exhaust memory.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the upload budget must be >= 1 byte, got {limit}")
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """Upload bytes held now."""
        return self._held

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes, or :class:`Saturated` when that would pass the limit (nothing is taken)."""
        with self._lock:
            if self._held + size > self.limit:
                raise Saturated(f"uploads under way hold {self._held:,} bytes, the limit is {self.limit:,}")
            self._held += size

    def give(self, size: int) -> None:
        """Give back ``size`` bytes taken before."""
        with self._lock:
            self._held -= size

    def hold(self) -> HeldBytes:
        """One request's share of the budget, given back whole when the ``with`` block ends, or when the job of
        the slot given to :meth:`HeldBytes.until_done` finishes, if that is later."""
        return HeldBytes(self)


class HeldBytes:
    """The upload bytes one request holds: :meth:`take` as chunks arrive, all given back on exit.

    A request answered 504 while its pool thread still decodes the upload has not freed that memory: after
    :meth:`until_done`, the bytes are given back when the job finishes, not when the ``with`` block ends.
    """

    def __init__(self, budget: UploadBudget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._slot: Slot | None = None
        self.size = 0

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes (:class:`Saturated` when the budget is spent)."""
        self._budget.take(size)
        with self._lock:
            self.size += size

    def give(self, size: int) -> None:
        """Give back ``size`` of the bytes taken (a copy that has been dropped)."""
        with self._lock:
            size = min(size, self.size)
            self.size -= size
        self._budget.give(size)

    def until_done(self, slot: Slot) -> None:
        """Keep the bytes after the ``with`` block until ``slot``'s job (which holds the upload) has finished."""
        self._slot = slot

    def _give_all(self, *_: object) -> None:
        self.give(self.size)

    def __enter__(self) -> HeldBytes:
        return self

    def __exit__(self, *exc: object) -> None:
        job = self._slot.job if self._slot is not None else None
        if job is not None and not job.done():
            job.add_done_callback(self._give_all)  # runs at once if the job finished in between
        else:
            self._give_all()
