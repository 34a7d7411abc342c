"""A real uvicorn on loopback under a bounded load: no 5xx, latency printed, and no memory growth per request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.live import LiveServer, run_load

pytestmark = pytest.mark.integration

REQUESTS, CONCURRENCY = 500, 8
RSS_MARGIN = 16 * 2**20
"""Allowed growth of the server's resident memory over the 500 requests after warm-up. A leak of the decoded
image alone (381 x 384 x 3 bytes) per request would be 210 MiB; allocator noise is a few MiB."""


def test_500_requests_8_concurrent_no_5xx_and_no_leak(media_dir: Path, yunet_path: Path, artifacts_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    body = (media_dir / "justin.jpg").read_bytes()
    # the fast packaged model keeps the run short on two cores; the benchmark measures the default one
    with LiveServer("--model", "fast", "--detector", "yunet", "--detector-model", str(yunet_path), "--workers", "2",
                    "--max-queue", "16", log_dir=artifacts_dir / "logs") as server:
        warm = run_load(server.url, body, requests=100, concurrency=CONCURRENCY, max_seconds=60)
        assert warm.statuses == {200: 100}, warm.summary() + server.log()
        rss_warm = server.rss_bytes()
        load = run_load(server.url, body, requests=REQUESTS, concurrency=CONCURRENCY, max_seconds=120)
        rss_after = server.rss_bytes()
        log = server.log()
    with capsys.disabled():
        print(f"\nload: {load.summary()}; server RSS {rss_warm / 2**20:.1f} MiB after warm-up, "
              f"{rss_after / 2**20:.1f} MiB after the load")
    assert load.requests == REQUESTS, load.summary()
    assert load.server_errors() == 0, load.summary() + log
    assert load.statuses == {200: REQUESTS}, load.summary()
    assert load.p(0.5) <= load.p(0.99) < 30.0
    assert rss_after - rss_warm < RSS_MARGIN, (rss_warm, rss_after)
    assert "Traceback" not in log, log
