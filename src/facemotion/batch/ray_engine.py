"""The Ray engine: the same tasks on a Ray cluster, through Ray Data (``pip install 'facemotion[ray]'``).

The inputs become a Ray dataset (local paths as items the actors open from their node's filesystem; object-store
URIs, listed file by file by the driver, read by Ray's filesystem layer as bytes), an actor pool maps batches
through a callable class holding one :class:`~facemotion.batch.tasks.PhotoTask` or ``VideoTask`` per actor, and
the finished batches stream back to the driver, which writes them with the same tables and manifest as the local
engine. The rows are tiny (about 200 bytes per face), so the driver is not the bottleneck; writing them there is
what makes a Ray job resumable like a local one, which ``Dataset.write_parquet`` alone cannot (it does not say
which inputs are finished).

A dying actor is Ray's to handle: Ray Data restarts it and retries its batch. Should the job fail anyway, the
batches finished until then are kept and the same command goes on from there.

Ray is imported here only, and only when this engine is asked for.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import socket
from collections.abc import Iterator
from typing import Any

from facemotion.batch.job import BatchError
from facemotion.batch.tasks import InputRows, make_task
from facemotion.inputs import is_uri

__all__ = ["RayEngine", "import_ray", "check_address", "pool_size"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Ray head to answer before the job is refused."""


def import_ray() -> Any:
    """``ray`` with Ray Data, or a :class:`BatchError` naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise BatchError(f"--engine ray needs Ray Data, which is not installed ({exc}): "
                         f"pip install 'facemotion[ray]'") from None
    return ray


def check_address(address: str) -> None:
    """Fail fast, naming the address, when no Ray head answers at ``host:port`` (``ray.init`` would retry for a
    long while first). ``auto`` is left to Ray, which reads it from the local ``ray start``."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise BatchError(f"--address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError, OverflowError) as exc:  # ValueError: a host name IDNA refuses (a label too long)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        shown = address if len(address) <= 80 else f"{address[:77]}..."
        raise BatchError(f"cannot reach a Ray cluster at {shown} ({reason}); start one with "
                         f"`ray start --head` and pass the address it prints") from None


class _Actor:
    """The callable class of ``map_batches``: one task (one Recognizer) per actor, built once."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.task = make_task(spec)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        paths = [str(p) for p in batch["path"]]
        sources = [bytes(b) for b in batch["bytes"]] if "bytes" in batch else None
        done = self.task(paths, sources)
        return {"input": [path for path, _ in done], "rows": [json.dumps(rows) for _, rows in done]}


class RayEngine:
    """Runs a task over the inputs with Ray Data.

    Args:
        spec: the task description.
        workers: actors in the pool (0: one per CPU of the cluster).
        batch_size: inputs per actor call.
        address: the cluster (``auto``, ``host:port``, ``ray://host:port``); None starts a local Ray.
    """

    def __init__(self, spec: dict[str, Any], workers: int, batch_size: int, address: str | None) -> None:
        self.spec = spec
        self.workers = workers
        self.batch_size = batch_size
        self.address = address
        self.lost: list[str] = []
        self._ray = import_ray()

    def _connect(self) -> None:
        ray = self._ray
        if ray.is_initialized():
            return
        if self.address is not None:
            check_address(self.address)
        ray.data.DataContext.get_current().enable_progress_bars = False  # facemotion shows its own
        try:
            ray.init(address=self.address, num_cpus=None if self.address else (self.workers or None),
                     include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError) as exc:
            raise BatchError(f"cannot join the Ray cluster at {self.address or 'a new local Ray'}: {exc}") from None

    def run(self, paths: list[str], read_as: dict[str, str] | None = None) -> Iterator[list[InputRows]]:
        """Yield finished inputs batch by batch, as the cluster returns them.

        ``read_as`` maps each object-store URI (one file each, listed by the driver) to the path its filesystem
        gives it, which is what ``read_binary_files`` reports back: finished inputs are named by their URI again,
        in the rows and in the manifest, so that a rerun skips them.
        """
        self._connect()
        ray = self._ray
        local = [p for p in paths if not is_uri(p)]
        uris = [p for p in paths if is_uri(p)]
        read_as = read_as or {}
        as_given = {read_as.get(uri, uri): uri for uri in uris}
        datasets = []
        if local:
            datasets.append((ray.data.from_items([{"path": p} for p in local]), None))
        if uris:
            # reads take no CPU: they wait on I/O, and an actor pool the size of the cluster (the default) would
            # otherwise hold every CPU while its input waits for one (a deadlock; Ray Data's own backpressure still
            # bounds the bytes read ahead)
            read = ray.data.read_binary_files
            no_cpu = ({"num_cpus": 0} if "num_cpus" in inspect.signature(read).parameters  # Ray >= 2.5x
                      else {"ray_remote_args": {"num_cpus": 0}})
            datasets.append((read(uris, include_paths=True, **no_cpu), as_given))
        workers = pool_size(self.workers, ray.cluster_resources().get("CPU", 1), len(paths), self.batch_size)
        for dataset, names in datasets:
            mapped = dataset.map_batches(_Actor, fn_constructor_kwargs={"spec": self.spec},
                                         batch_size=self.batch_size, num_cpus=1,
                                         compute=ray.data.ActorPoolStrategy(size=workers),
                                         batch_format="numpy")
            try:
                for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
                    done = [(str(i), json.loads(r)) for i, r in zip(batch["input"], batch["rows"])]
                    yield done if names is None else [_as_given(names, path, rows) for path, rows in done]
            except Exception as exc:
                if isinstance(exc, BatchError):
                    raise
                raise BatchError(f"the Ray job stopped: {type(exc).__name__}: {str(exc)[:500]}; the inputs "
                                 f"finished so far are kept: run the same command again to go on") from None


def pool_size(requested: int, cluster_cpus: float, inputs: int, batch_size: int) -> int:
    """Actors to start: as many as asked (0: one per CPU of the cluster), but never more than there are batches, so
    that no actor loads a model to sit idle (as the local engine starts no idle process); at least one."""
    wanted = requested or max(int(cluster_cpus), 1)
    return max(min(wanted, math.ceil(inputs / batch_size)), 1)


def _as_given(names: dict[str, str], path: str, rows: list[list[Any]]) -> InputRows:
    """An input Ray read from an object store, named by its URI again (Ray reports the path without the scheme)."""
    uri = names.get(path)
    if uri is None:
        raise BatchError(f"Ray read {path!r}, which is none of the URIs listed for the job; the inputs finished so "
                         f"far are kept")
    return uri, [[uri, *row[1:]] for row in rows]
