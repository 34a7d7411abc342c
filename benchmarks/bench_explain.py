"""Are the heatmaps faithful, and what do they cost? Deletion curves, a randomisation check, timings (PublicTest only).

    python benchmarks/bench_explain.py                                  # default model, all 3,589 PublicTest faces
    python benchmarks/bench_explain.py --model fast --limit 500 --grid docs/images/explain-grid-fast.png

1. Deletion: mask the hottest 10/20/30/50 % of each crop's pixels (its predicted label's map, upsampled to 48x48)
   with the crop's mean gray, and watch that label's probability; then the same with a random map (random cells on
   the same grid, as smooth as a heatmap), random pixels and the coldest pixels. A faithful map makes the hottest
   curve fall far faster. The area under each curve (0-50 %, as the mean
   probability over the masked fraction) sums each curve up: lower is a steeper fall.
2. Randomisation (Adebayo et al. 2018): the same maps from the architecture with freshly initialised weights. Maps
   that only echoed the image's edges would barely change; the rank correlation between the two says how much.
3. Cost: per-face time of ``predict_proba`` (probabilities only) against ``explain`` (probabilities and maps),
   and against the same model exported without the heatmap output, batch 1 and 32.
4. A grid of examples per label (correct, confident PublicTest faces) for the README.

Needs the train extra (torch) for the re-initialised network and the output-free graph; the rest is ONNX Runtime.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facemotion.data import load_fer2013
from facemotion.inference.annotate import draw_heatmaps
from facemotion.inference.backends import OnnxClassifier
from facemotion.inference.recognizer import Recognizer
from facemotion.inference.weights import resolve_model
from facemotion.labels import EMOTIONS, IMAGE_SIZE
from facemotion.types import Box, FaceResult, Heatmap

SHARED = Path(__file__).resolve().parents[2] / "shared"
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)


def upsampled(maps: np.ndarray) -> np.ndarray:
    """``(N, h, w)`` maps -> ``(N, 48, 48)``, bilinear: what the overlay shows on the crop."""
    return np.stack([cv2.resize(m, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_LINEAR) for m in maps])


def masked(crops: np.ndarray, scores: np.ndarray, fraction: float) -> np.ndarray:
    """The crops with the ``fraction`` of pixels of highest ``scores`` set to each crop's mean gray."""
    flat = crops.reshape(len(crops), -1).astype(np.float32)
    order = np.argsort(-scores.reshape(len(crops), -1), axis=1)[:, :int(round(fraction * flat.shape[1]))]
    np.put_along_axis(flat, order, np.broadcast_to(flat.mean(axis=1, keepdims=True), order.shape), axis=1)
    return np.round(flat).astype(np.uint8).reshape(crops.shape)


def area(curve: list[float]) -> float:
    """Mean probability over the masked fraction 0-0.5 (trapezoids)."""
    x = np.asarray(FRACTIONS)
    y = np.asarray(curve)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rank correlation of each row of ``a`` with the same row of ``b``."""
    ra = np.argsort(np.argsort(a, axis=1), axis=1).astype(np.float64)
    rb = np.argsort(np.argsort(b, axis=1), axis=1).astype(np.float64)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(axis=1) / np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))


def randomised_maps(model_path: Path, crops: np.ndarray, seed: int) -> np.ndarray:
    """The maps of the same architecture with fresh weights (torch; BatchNorm at its initial statistics)."""
    import torch

    from facemotion.models import LogitEnsemble
    from facemotion.models.cam import class_activation_maps
    from facemotion.models.from_onnx import model_from_onnx

    trained, _, _ = model_from_onnx(model_path)
    torch.manual_seed(seed)
    nets = list(trained.members) if isinstance(trained, LogitEnsemble) else [trained]
    fresh = [type(net)(**_kwargs_like(net)) for net in nets]
    model = (LogitEnsemble(fresh) if len(fresh) > 1 else fresh[0]).eval()
    with torch.inference_mode():
        return class_activation_maps(model, torch.from_numpy(crops[:, None].astype(np.float32))).numpy()


def _kwargs_like(net: object) -> dict:
    """Constructor arguments that rebuild ``net``'s shapes (width/depth from its layers)."""
    import torch

    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]  # type: ignore[attr-defined]
    kwargs = {"num_classes": net.num_classes}  # type: ignore[attr-defined]
    name = type(net).__name__
    if name == "VGG":
        width = convs[0].out_channels
        kwargs.update(width=width, depth=sum(1 for c in convs if c.out_channels == width))
    elif name == "MiniXception":
        kwargs.update(width=convs[0].out_channels * 2)
    return kwargs


def median_seconds(fn: Callable[[], object], budget: float = 2.0) -> float:
    for _ in range(3):
        fn()
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 500):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_graph(model_path: Path, folder: Path) -> Path:
    """The same model exported without the heatmap output: the graph as it was before heatmaps."""
    from facemotion.models.export import to_onnx
    from facemotion.models.from_onnx import graph_views, model_from_onnx

    model, metadata, _ = model_from_onnx(model_path)
    flip_tta, zooms = graph_views(metadata, model_path)
    return to_onnx(model, folder / "plain.onnx", temperature=float(metadata.get("temperature", 1.0)),
                   flip_tta=flip_tta, zooms=zooms, heatmaps=False)


def example_grid(crops: np.ndarray, labels: np.ndarray, probs: np.ndarray, maps: np.ndarray, out: Path,
                 per_label: int = 4, scale: int = 2) -> Path:
    """A row per label: the most confident correct faces, upscaled, each with its heatmap blended in."""
    side, title_w = IMAGE_SIZE * scale, 70
    rows = []
    predicted = probs.argmax(axis=1)
    for k, name in enumerate(EMOTIONS):
        picks = [i for i in np.argsort(-probs[:, k]) if labels[i] == k and predicted[i] == k][:per_label]
        tiles = []
        for i in picks:
            image = cv2.cvtColor(cv2.resize(crops[i], (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
            h, w = maps.shape[2:]
            heatmap = Heatmap(matrix=[[side / w, 0, 0], [0, side / h, 0]], maps={name: maps[i, k].tolist()})
            face = FaceResult(box=Box(0, 0, side, side), emotion=name, confidence=float(probs[i, k]),
                              probabilities=probs[i].tolist(), heatmap=heatmap)
            tiles.append(draw_heatmaps(image, [face]))
        tiles += [np.full((side, side, 3), 255, np.uint8)] * (per_label - len(tiles))
        title = np.full((side, title_w, 3), 255, np.uint8)
        cv2.putText(title, name, (4, side // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.hstack([title, *tiles]))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "fer2013" / "fer2013.csv.gz")
    parser.add_argument("--limit", type=int, default=0, help="first N PublicTest faces (0 = all)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", type=Path, default=None, help="write the example grid PNG here")
    args = parser.parse_args()

    path = resolve_model(args.model)
    classifier = OnnxClassifier(path, threads=args.threads)
    val = load_fer2013(args.data).val  # PublicTest: the selection split, never PrivateTest
    crops = val.images[:args.limit] if args.limit else val.images
    truth = val.labels[:len(crops)]
    probs, maps = classifier.explain(crops)
    predicted = probs.argmax(axis=1)
    hot = upsampled(maps[np.arange(len(crops)), predicted])
    rng = np.random.default_rng(args.seed)
    smooth = upsampled(rng.random((len(crops), *maps.shape[2:])).astype(np.float32))  # a map of random cells
    orders = {"hottest first": hot, "random map": smooth, "random pixels": rng.random(hot.shape),
              "coldest first": -hot}
    accuracy = np.mean(predicted == truth)
    print(f"model {args.model} ({path.name}), {len(crops)} PublicTest faces, accuracy {accuracy:.4f}")
    print(f"machine: {platform.processor() or platform.machine()}, ONNX Runtime threads {args.threads or 'default'}\n")
    print("### Deletion: probability of the predicted label as pixels are masked\n")
    print("| order | " + " | ".join(f"{f:.0%}" for f in FRACTIONS) + " | area (0-50 %) | top label kept at 50 % |")
    print("|---|" + "---|" * len(FRACTIONS) + "---|---|")
    for name, scores in orders.items():
        after = [classifier.predict_proba(masked(crops, scores, f)) for f in FRACTIONS]
        curve = [float(p[np.arange(len(crops)), predicted].mean()) for p in after]
        kept = np.mean(after[-1].argmax(axis=1) == predicted)
        print(f"| {name} | " + " | ".join(f"{p:.3f}" for p in curve) + f" | {area(curve):.3f} | {kept:.1%} |")

    trained = maps[np.arange(len(crops)), predicted].reshape(len(crops), -1)
    fresh = randomised_maps(path, crops, args.seed)[np.arange(len(crops)), predicted].reshape(len(crops), -1)
    rho = spearman(trained, fresh)
    print("\n### Randomisation: trained maps against a re-initialised network's (same label, same faces)\n")
    print(f"Spearman rank correlation: mean {np.nanmean(rho):.3f}, median {np.nanmedian(rho):.3f}, "
          f"|rho| > 0.5 on {np.mean(np.abs(rho) > 0.5):.1%} of faces")

    print("\n### Cost per face (median wall time)\n")
    print("| batch | probabilities, graph without heatmaps | probabilities (explain=False) | with heatmaps "
          "(explain=True) | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        plain = OnnxClassifier(plain_graph(path, Path(folder)), threads=args.threads)
        for batch in (1, 32):
            x = crops[:batch]
            base = median_seconds(lambda x=x: plain.predict_proba(x)) / batch
            off = median_seconds(lambda x=x: classifier.predict_proba(x)) / batch
            on = median_seconds(lambda x=x: classifier.explain(x)) / batch
            print(f"| {batch} | {base * 1e3:.3f} ms | {off * 1e3:.3f} ms | {on * 1e3:.3f} ms | {on / off:.2f}x |")
    recognizer = Recognizer(classifier, detector="none")
    face = cv2.cvtColor(crops[0], cv2.COLOR_GRAY2BGR)
    off = median_seconds(lambda: recognizer.predict(face))
    on = median_seconds(lambda: recognizer.predict(face, explain=True))
    print(f"| Recognizer.predict, one face, detector none | | {off * 1e3:.3f} ms | {on * 1e3:.3f} ms | "
          f"{on / off:.2f}x |")
    if args.grid is not None:
        print(f"\nwrote {example_grid(crops, truth, probs, maps, args.grid)}")


if __name__ == "__main__":
    main()
