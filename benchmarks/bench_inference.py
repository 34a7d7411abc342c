"""Inference speed: classifier faces/s (ONNX Runtime vs torch), detection and end-to-end latency per shared photo.

    python benchmarks/bench_inference.py                      # every packaged tier, both detectors
    python benchmarks/bench_inference.py --models default --threads 1 --seconds 3
    python benchmarks/bench_inference.py --models default artifacts/release/default/uncalibrated-float.onnx

The last line compares an int8 tier with the float graph of its networks (a release's by-product), in one run.
Prints Markdown tables and the machine they were measured on. Every classifier figure is the median of interleaved
rounds (``--rounds``), each the median over repeated runs after warm-up; the photo figures are medians over repeated
runs. The precision column says whether a graph is int8 (``facemotion export --int8``). The torch column runs the
same architecture (from the model card) with the same probability head as the exported graph, so the two columns
compare runtimes, not models; it needs the train extra and is skipped without it.
Run it on an idle machine: a busy one (e.g. a training run beside it) makes every figure slower.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from facemotion.faces import create_detector
from facemotion.inference.backends import OnnxClassifier
from facemotion.inference.images import load_image
from facemotion.inference.recognizer import Recognizer
from facemotion.inference.weights import PACKAGED_MODELS, model_card, resolve_model

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS = ("justin.jpg", "no-faces.jpg", "solvay_conference.jpg")


def median_seconds(fn: Callable[[], object], budget: float, warmup: int = 2, max_runs: int = 200) -> float:
    """Median wall time of ``fn`` over as many runs as fit in ``budget`` seconds (at least 3)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < max_runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    """The CPU with its widest vector unit, its load, and the runtimes' versions: this project's 2-core VM has run
    the same networks twice as fast on one host as on another, so a figure means little without them."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    vector = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "")
    cpu += f" ({vector})" if vector else ""
    import cv2
    import onnxruntime

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{cpu}, {os.cpu_count()} logical cores, load average {load}; Python {platform.python_version()}, "
            f"ONNX Runtime {onnxruntime.__version__}, OpenCV {cv2.__version__}")


def torch_classifier(model: str, threads: int) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model card's architecture in torch with the exported graph's head, or None without torch/a card."""
    try:
        import torch

        from facemotion.models import LogitEnsemble, create_model
        from facemotion.models.export import ProbabilityHead
    except ImportError:
        return None
    card = model_card(model)
    if "architecture" not in card:
        return None
    if threads:
        torch.set_num_threads(threads)
    specs = card.get("members") or [card]
    nets = [create_model(spec["architecture"], **spec.get("architecture_kwargs", {})) for spec in specs]
    net = nets[0] if len(nets) == 1 else LogitEnsemble(nets)
    head = ProbabilityHead(net.float().eval(), temperature=float(card.get("temperature", 1.0)),
                           flip_tta=bool(card.get("flip_tta", False)), zooms=card.get("tta_zooms") or ()).eval()

    def run(crops: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return head(torch.from_numpy(crops.astype(np.float32)[:, None])).numpy()

    return run


def precision(model: str) -> str:
    """``int8`` for a quantised graph (its card's ``quantization`` record or its metadata), else ``float32``."""
    card = model_card(model)
    if (card.get("quantization") or {}).get("precision") == "int8":
        return "int8"
    return "int8" if OnnxClassifier(resolve_model(model)).metadata.get("precision") == "int8" else "float32"


def classifier_table(models: list[str], threads: int, budget: float, rounds: int) -> list[str]:
    """Faces/s of every model and runtime, each figure the median of ``rounds`` interleaved rounds: a 2-core VM's
    speed drifts by a quarter within a minute, and measuring the models one after another would hand that drift to
    whichever came first."""
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, 48, 48), dtype=np.uint8)
    many = rng.integers(0, 256, (64, 48, 48), dtype=np.uint8)
    cases: list[tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = []
    for model in models:
        cases.append((model, "ONNX Runtime", OnnxClassifier(resolve_model(model), threads=threads).predict_proba))
        torch_run = torch_classifier(model, threads)
        if torch_run is not None:
            cases.append((model, "torch", torch_run))
    times: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(cases))}
    for _ in range(rounds):
        for i, (_, _, run) in enumerate(cases):
            times[i].append((median_seconds(lambda run=run: run(one), budget / rounds),
                             median_seconds(lambda run=run: run(many), budget / rounds)))
    rows = ["| model | precision | runtime | batch 1 (faces/s) | batch 64 (faces/s) | batch 1 latency (ms) |",
            "|---|---|---|---|---|---|"]
    for i, (model, runtime, _) in enumerate(cases):
        t1 = statistics.median(t for t, _ in times[i])
        t64 = statistics.median(t for _, t in times[i])
        kind = precision(model) if runtime == "ONNX Runtime" else "float32"
        rows.append(f"| {model} | {kind} | {runtime} | {1 / t1:,.0f} | {64 / t64:,.0f} | {t1 * 1000:.2f} |")
    return rows


def photo_tables(model: str, detectors: list[str], yunet: Path | None, threads: int, budget: float) -> list[str]:
    rows = ["| photo | size | detector | faces | detection (ms) | end to end (ms) |", "|---|---|---|---|---|---|"]
    for name in detectors:
        detector = create_detector(name, model_path=yunet)
        recognizer = Recognizer(model, detector, threads=threads)
        for photo in PHOTOS:
            path = SHARED / "media" / photo
            image = load_image(path)
            faces = len(detector.detect(image))
            detect = median_seconds(lambda d=detector, i=image: d.detect(i), budget)
            end_to_end = median_seconds(lambda r=recognizer, p=path: r.predict(p), budget)
            rows.append(f"| {photo} | {image.shape[1]}x{image.shape[0]} | {name} | {faces} | {detect * 1000:.1f} "
                        f"| {end_to_end * 1000:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(PACKAGED_MODELS), help="packaged names or .onnx paths")
    parser.add_argument("--detectors", nargs="+", default=["yunet", "haar"])
    parser.add_argument("--yunet", type=Path, default=SHARED / "models" / "face_detection_yunet_2026may.onnx")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime and torch threads (0 = default)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per figure")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per figure (the median is kept)")
    args = parser.parse_args()

    print(f"Machine: {machine()}; threads: {args.threads or 'default'}\n")
    print("\n".join(classifier_table(args.models, args.threads, args.seconds, max(1, args.rounds))))
    print(f"\nShared photos, classifier {args.models[0]} (end to end = decode, detect, align, classify):\n")
    print("\n".join(photo_tables(args.models[0], args.detectors, args.yunet, args.threads, args.seconds)))


if __name__ == "__main__":
    main()
