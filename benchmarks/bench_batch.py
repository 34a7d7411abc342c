"""Bulk inference throughput: images/s in one process, on 1 and 2 local workers and on Ray, as ratios, in one run.

    python benchmarks/bench_batch.py                       # 400 synthetic 640x480 photos, the default model
    python benchmarks/bench_batch.py --images photos/ --workers 1 2 4 --no-ray

Each engine runs the whole job from an empty output (startup included) and its time is split into a fixed start-up
cost (workers or Ray starting, models loading: the first batch's wait) and a per-image cost; the per-image overhead
of an engine is its per-image cost minus that of a plain ``Recognizer.predict_batch`` loop in this process (pipes,
pickling, rows, the manifest, Parquet). Needs the ray extra for the Ray row.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facemotion.batch import BatchJob, run_batch
from facemotion.inference.recognizer import Recognizer


def synthetic_photos(folder: Path, n: int) -> list[Path]:
    """``n`` 640x480 JPEG photos of noise with a bright oval: detection does its full work on every one."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = rng.integers(0, 120, (480, 640, 3), dtype=np.uint8)
        cv2.ellipse(image, (320 + (i % 50), 240), (80, 100), 0, 0, 360, (200, 190, 180), -1)
        path = folder / f"photo{i:05d}.jpg"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def timed_job(inputs: str, out: Path, engine: str, workers: int, recognizer: dict) -> tuple[float, float]:
    """Wall seconds of the whole job, and seconds until its first batch was written (the start-up cost)."""
    first: list[float] = []
    started = time.perf_counter()
    run_batch(BatchJob(inputs=(inputs,), out=out, engine=engine, workers=workers, recognizer=recognizer,
                       batch_size=16), progress=lambda done, total: first or first.append(time.perf_counter()))
    return time.perf_counter() - started, (first[0] - started) if first else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, help="A folder of photos (default: synthetic ones).")
    parser.add_argument("-n", type=int, default=400, help="Synthetic photos to make.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="default")
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        folder = args.images or root / "photos"
        paths = sorted(folder.glob("*")) if args.images else synthetic_photos(folder, args.n)
        recognizer = {"model": args.model, "detector": args.detector}
        rec = Recognizer(**recognizer, threads=1)
        rec.predict_batch([str(p) for p in paths[:16]])  # warm-up
        started = time.perf_counter()
        for i in range(0, len(paths), 16):
            rec.predict_batch([str(p) for p in paths[i:i + 16]])
        base = (time.perf_counter() - started) / len(paths)
        print(f"{len(paths)} photos, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"model {args.model}, detector {rec.detector.name}")
        print(f"in-process, 1 thread: {1 / base:7.1f} images/s ({1000 * base:.2f} ms/image)\n")
        rows = [(f"local, {w} worker{'s' * (w > 1)}", "local", w) for w in args.workers]
        if not args.no_ray:
            rows.append(("ray, 2 actors", "ray", 2))
        results = []
        for label, engine, workers in rows:
            total, startup = timed_job(str(folder), root / f"{engine}-{workers}.parquet", engine, workers,
                                       recognizer)
            steady = (total - startup) / max(len(paths) - 16 * workers, 1)
            results.append((label, len(paths) / total, startup, steady * workers - base))
        reference = results[0][1]
        print(f"{'engine':<18}{'images/s':>10}{'ratio':>8}{'start-up s':>12}{'overhead ms/img':>17}")
        for label, rate, startup, overhead in results:
            print(f"{label:<18}{rate:>10.1f}{rate / reference:>8.2f}{startup:>12.2f}{1000 * overhead:>17.2f}")
        print("\nratio: against the first row; overhead: per image per worker, over the in-process loop")


if __name__ == "__main__":
    main()
