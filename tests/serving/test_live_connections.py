"""Hostile connections against a real ``facemotion serve`` on 127.0.0.1 (issue 14): trickled headers meet a header
timeout, trickled bodies leave the workers free, an upload cut short is one log line. Each socket has a timeout, so
every test ends within seconds whatever the server does."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.serving.conftest import png
from tests.serving.live import LOOPBACK, LiveServer

HEADER_TIMEOUT_S = 1.0
ABORT_LINE = "closed the connection during the upload"


@pytest.fixture(scope="module")
def server(artifacts_dir: Path) -> Iterator[LiveServer]:
    with LiveServer("--model", "fast", "--detector", "none", "--workers", "1", "--max-queue", "2", "--timeout", "4",
                    log_dir=artifacts_dir / "logs", env={"FACEMOTION_HEADER_TIMEOUT": str(HEADER_TIMEOUT_S)}) as live:
        yield live


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection((LOOPBACK, server.port), timeout=5)


def _read_until_closed(sock: socket.socket, limit_s: float) -> bytes:
    """Everything the server sends until it closes the connection, or until ``limit_s`` passes."""
    data, deadline = b"", time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _post(server: LiveServer, body: bytes) -> int:
    conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=5)
    try:
        conn.request("POST", "/v1/predict", body=body, headers={"Content-Type": "image/png"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("trickle", [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", b""])
def test_headers_that_never_finish_get_408_and_a_closed_connection(server: LiveServer, trickle: bytes) -> None:
    with _connect(server) as sock:
        start = time.monotonic()
        sock.sendall(trickle)
        sock.settimeout(0.25)
        data = b""
        while time.monotonic() - start < 4 * HEADER_TIMEOUT_S:
            try:
                sock.sendall(b"a")  # one byte every 0.25 s: never a whole head
            except OSError:
                break
            data += _read_until_closed(sock, 0.25)
            if data:
                break
        data += _read_until_closed(sock, 1.0)
        elapsed = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert b"did not arrive within 1 s" in data
    assert HEADER_TIMEOUT_S * 0.9 < elapsed < HEADER_TIMEOUT_S + 2.0


def test_a_keep_alive_connection_gets_the_header_timeout_again(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b'{"status":"ok"}' not in first:  # the whole first answer, head and body
            chunk = sock.recv(4096)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b'{"status":"ok"}'), first
        start = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the second request's head stalls
        data = _read_until_closed(sock, 4 * HEADER_TIMEOUT_S)
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert time.monotonic() - start < HEADER_TIMEOUT_S + 2.0


def test_complete_requests_are_not_cut_by_the_header_timeout(server: LiveServer) -> None:
    conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=5)
    try:
        for _ in range(2):
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b'{"status":"ok"}'
            time.sleep(HEADER_TIMEOUT_S * 0.6)  # idle between requests, within the limits
    finally:
        conn.close()


def test_slow_uploads_leave_the_workers_to_everyone_else(server: LiveServer) -> None:
    image = png(np.full((64, 64), 20, np.uint8))
    head = (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: %d\r\n\r\n" % len(image))
    slow = [_connect(server) for _ in range(3)]  # as many as workers + queue
    try:
        for sock in slow:
            sock.sendall(head + image[:1])
        for _ in range(3):
            time.sleep(0.2)
            for sock in slow:
                sock.sendall(image[1:2])
            assert _post(server, image) == 200  # not 503: the trickling uploads hold no slot
        for sock in slow:  # past the request timeout, each slow upload is told so
            sock.settimeout(6)
            assert _read_until_closed(sock, 6).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in slow:
            sock.close()


def test_an_upload_cut_short_is_one_line_in_the_log(server: LiveServer) -> None:
    before = server.log().count(ABORT_LINE)
    with _connect(server) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b"\x89PNG" * 25)
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while server.log().count(ABORT_LINE) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    assert log.count(ABORT_LINE) == before + 1, log
    assert "100 bytes" in log.splitlines()[-1] or any("after 100 bytes" in line for line in log.splitlines()), log
    assert "Traceback" not in log, log
