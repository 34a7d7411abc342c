"""The local engine: a pool of worker processes on this machine, each with its own Recognizer.

Throughput grows with cores because each worker runs detection and classification on its own core (one ONNX Runtime
thread each). The pool is small and explicit rather than ``concurrent.futures``: the parent knows which batch each
worker holds, so a worker that dies (killed, out of memory, a crash in native code) costs only that batch, which is
retried one input at a time; an input that kills a worker twice becomes an error row and the job goes on. An
exception is not a death: the worker catches it and answers with error rows naming it.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from facemotion.batch.job import BatchError
from facemotion.batch.tasks import InputRows, error_rows, make_task
from facemotion.cpus import usable_cpus

__all__ = ["LocalEngine", "default_workers"]

logger = logging.getLogger(__name__)

TaskFactory = Callable[[dict[str, Any]], Callable[[list[str]], list[InputRows]]]


def _worker_main(conn: Connection, spec: dict[str, Any], factory: TaskFactory) -> None:
    """A worker: build the task once, then answer batches until told to stop (``None``).

    A task turns each input's failure into that input's error row; an exception that escapes it anyway (a bug, an
    unforeseen error in a library) is caught here too: the batch is tried again one input at a time in this process,
    and the inputs that still raise get an error row naming the exception. The worker lives on, so only a real crash
    (a signal, the OOM killer, a fault in native code) costs a batch and counts as lost.
    """
    try:
        task = factory(spec)
    except Exception as exc:  # a bad model or detector: the parent stops the job with this message
        conn.send(("init_error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)))
        return
    conn.send(("ready", None))
    while True:
        message = conn.recv()
        if message is None:
            return
        batch_id, paths = message
        conn.send(("done", (batch_id, _answer(task, paths, spec))))


def _answer(task: Callable[[list[str]], list[InputRows]], paths: list[str], spec: dict[str, Any]) -> list[InputRows]:
    """``task(paths)``, or, when it raises, each input on its own, an input that raises getting an error row."""
    try:
        return task(paths)
    except Exception as exc:
        if len(paths) == 1:
            logger.debug("unexpected error on %s", paths[0], exc_info=True)
            message = f"{paths[0]}: {type(exc).__name__}: {exc}"
            return [(paths[0], error_rows(spec["video"], paths[0], message, spec["labels"]))]
    return [done for path in paths for done in _answer(task, [path], spec)]


@dataclass
class _Batch:
    id: int
    paths: list[str]
    attempt: int = 1


@dataclass
class _Worker:
    process: Any
    conn: Connection
    batch: _Batch | None = None
    ready: bool = False


class LocalEngine:
    """Runs a task over batches of inputs in ``workers`` processes.

    Args:
        spec: the task description (see :func:`~facemotion.batch.tasks.make_task`), with the job's ``labels``.
        workers: the number of processes.
        factory: builds a worker's task from ``spec``; a module-level function (it is sent to the workers).
    """

    def __init__(self, spec: dict[str, Any], workers: int, *, factory: TaskFactory = make_task) -> None:
        self.spec = spec
        self.workers = workers
        self.factory = factory
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        self._ctx = mp.get_context(method)
        if method == "forkserver":  # workers fork from a server that imported the heavy modules once
            self._ctx.set_forkserver_preload(["facemotion.batch.tasks", "facemotion.inference.recognizer"])
        self.lost: list[str] = []

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, self.spec, self.factory), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, batches: list[list[str]]) -> Iterator[list[InputRows]]:
        """Yield each batch's results as it finishes (in any order)."""
        todo = deque(_Batch(i, paths) for i, paths in enumerate(batches))
        next_id = len(batches)
        pool = [self._start() for _ in range(min(self.workers, len(todo)))]
        try:
            while todo or any(w.batch is not None for w in pool):
                for worker in pool:
                    if worker.ready and worker.batch is None and todo:
                        worker.batch = todo.popleft()
                        worker.conn.send((worker.batch.id, worker.batch.paths))
                ready = wait([w.conn for w in pool] + [w.process.sentinel for w in pool])
                for i, worker in enumerate(pool):
                    if worker.conn in ready or (worker.process.sentinel in ready and worker.conn.poll()):
                        try:
                            kind, payload = worker.conn.recv()
                        except (EOFError, OSError):
                            kind, payload = "died", None
                        if kind == "init_error":
                            raise BatchError(f"a worker could not start: {payload}")
                        if kind == "ready":
                            worker.ready = True
                            continue
                        if kind == "done":
                            worker.batch = None
                            yield payload[1]
                            continue
                    elif worker.process.sentinel not in ready:
                        continue
                    worker.process.join(timeout=5)
                    lost, next_id = self._lost(worker, todo, next_id)
                    pool[i] = self._start()
                    if lost:
                        yield lost
        finally:
            for worker in pool:
                self._stop(worker)

    def _lost(self, worker: _Worker, todo: deque[_Batch], next_id: int) -> tuple[list[InputRows], int]:
        """A worker died: retry its batch one input at a time; an input that kills a worker twice is lost."""
        code = worker.process.exitcode
        batch = worker.batch
        if batch is None:
            if not worker.ready:
                raise BatchError(f"a worker process died while starting (exit code {code})")
            return [], next_id
        if batch.attempt == 1:
            logger.warning("a worker died (exit code %s) on a batch of %d inputs; retrying them one by one", code,
                           len(batch.paths))
            for path in batch.paths:
                todo.appendleft(_Batch(next_id, [path], attempt=2))
                next_id += 1
            return [], next_id
        path = batch.paths[0]
        self.lost.append(path)
        message = f"{path}: lost: the worker processing it died twice (exit code {code})"
        logger.warning("%s", message)
        return [(path, error_rows(self.spec["video"], path, message, self.spec["labels"]))], next_id

    @staticmethod
    def _stop(worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except (OSError, ValueError):
            pass
        worker.process.join(timeout=2)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(timeout=2)
        worker.conn.close()


def default_workers() -> int:
    """One worker per core this process may use."""
    return usable_cpus()
