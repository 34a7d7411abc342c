"""A real ``facemotion serve`` in a subprocess on loopback, and a bounded load generator for it.

Shared by the load test, the browser test and ``benchmarks/bench_serving.py`` (written once). The load generator
uses the standard library's ``http.client`` with one keep-alive connection per client thread, and refuses any
host but loopback.
"""

from __future__ import annotations

import http.client
import itertools
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = ["LiveServer", "LoadResult", "run_load", "free_port", "percentile"]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class LiveServer:
    """``python -m facemotion.cli.main serve --host 127.0.0.1 --port <free> ARGS`` until the context exits."""

    def __init__(self, *args: str, log_dir: Path, env: dict[str, str] | None = None, ready_s: float = 60.0) -> None:
        self.port = free_port()
        self.args = [sys.executable, "-m", "facemotion.cli.main", "serve", "--host", LOOPBACK, "--port",
                     str(self.port), "--log-level", "warning", *args]
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.ready_s = ready_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> LiveServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.ready_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if _get(self.port, "/readyz") == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server was not ready within {self.ready_s} s:\n{self.log()}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def rss_bytes(self) -> int:
        """The server's resident memory now (``VmRSS`` of ``/proc/<pid>/status``)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS line in /proc/<pid>/status")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-quantile (0 < q <= 1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


@dataclass
class LoadResult:
    """Latencies (seconds) and statuses of one load run; status 0 is a connection error."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)

    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.2f} s: {self.throughput:.1f} req/s, "
                f"p50 {1000 * self.p(0.5):.1f} ms, p99 {1000 * self.p(0.99):.1f} ms, statuses {dict(self.statuses)}")


def run_load(url: str, body: bytes, *, requests: int, concurrency: int, content_type: str = "image/jpeg",
             path: str = "/v1/predict", timeout: float = 30.0, max_seconds: float = 300.0) -> LoadResult:
    """POST ``body`` ``requests`` times from ``concurrency`` threads, each on its own keep-alive connection.

    Bounded: every request has ``timeout``, and no new request starts after ``max_seconds``.
    """
    host, _, port = url.removeprefix("http://").partition(":")
    if host != LOOPBACK:
        raise ValueError(f"load is only ever sent to {LOOPBACK}, got {url}")
    tickets = itertools.count()
    lock = threading.Lock()
    result = LoadResult(seconds=0.0)
    headers = {"Content-Type": content_type}
    stop_at = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection(LOOPBACK, int(port), timeout=timeout)
        try:
            while next(tickets) < requests and time.monotonic() < stop_at:
                start = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()  # reconnects on the next request
                    status = 0
                elapsed = time.perf_counter() - start
                with lock:
                    result.statuses[status] += 1
                    if status == 200:
                        result.latencies.append(elapsed)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, name=f"load-{i}") for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result
