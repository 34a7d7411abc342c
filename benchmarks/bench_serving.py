"""HTTP service speed: requests/s and p50/p99 latency for one photo at 1, 4 and 16 concurrent clients.

    python benchmarks/bench_serving.py                         # default model, YuNet, justin.jpg
    python benchmarks/bench_serving.py --model fast --detector haar --requests 300 --concurrency 1 8

Starts a real ``facemotion serve`` on 127.0.0.1 (a free port) and drives it from this process with keep-alive
connections, one thread per client (the load generator of ``tests/serving/live.py``, written once). Each level
starts with a warm-up that is not counted. Prints a Markdown table and the machine. Run it on an idle machine: the
client threads share the cores with the server, as they would on a one-box deployment.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.serving.live: the server launcher and load generator

from bench_inference import SHARED, machine  # noqa: E402  (same folder)

from tests.serving.live import LiveServer, run_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=SHARED / "media" / "justin.jpg")
    parser.add_argument("--model", default="default", help="default, fast or an .onnx path")
    parser.add_argument("--detector", default="yunet", help="yunet (falls back to haar without the file), haar, none")
    parser.add_argument("--yunet", type=Path, default=SHARED / "models" / "face_detection_yunet_2026may.onnx")
    parser.add_argument("--workers", type=int, default=None, help="server inference threads (default: its own)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=0, help="per level (default: max(300, 40 x clients))")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()

    detector = args.detector
    extra = []
    if detector == "yunet":
        if args.yunet.is_file():
            extra = ["--detector-model", str(args.yunet)]
        else:
            detector = "haar"
    if args.workers:
        extra += ["--workers", str(args.workers)]
    body = args.image.read_bytes()
    content_type = "image/png" if args.image.suffix.lower() == ".png" else "image/jpeg"
    rows = []
    with tempfile.TemporaryDirectory() as logs:
        server_args = ["--model", args.model, "--detector", detector, "--max-queue", str(max(args.concurrency)),
                       *extra]
        with LiveServer(*server_args, log_dir=Path(logs)) as server:
            ready = _readyz(server.url)
            for clients in args.concurrency:
                run_load(server.url, body, requests=args.warmup, concurrency=clients, content_type=content_type)
                n = args.requests or max(300, 40 * clients)
                result = run_load(server.url, body, requests=n, concurrency=clients, content_type=content_type)
                others = {s: c for s, c in result.statuses.items() if s != 200}
                rows.append(f"| {clients} | {result.requests} | {result.throughput:.1f} | "
                            f"{1000 * result.p(0.5):.1f} | {1000 * result.p(0.99):.1f} | {others or 0} |")
    print(f"`{args.image.name}` ({len(body):,} bytes), model `{args.model}`, detector `{detector}`, "
          f"server: {ready}\n")
    print("| clients | requests | requests/s | p50 (ms) | p99 (ms) | non-200 |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nMachine: {machine()}")


def _readyz(url: str) -> str:
    import json
    import urllib.request

    with urllib.request.urlopen(url + "/readyz", timeout=5) as response:  # loopback only: url is LiveServer's
        ready = json.load(response)
    return f"{ready['workers']} workers, {ready['capacity']} requests admitted at most"


if __name__ == "__main__":
    main()
