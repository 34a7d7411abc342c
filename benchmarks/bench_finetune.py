"""Fine-tuning from the shipped model against training from scratch, on small relabelled sets (PublicTest only).

    python benchmarks/bench_finetune.py                         # 50, 200 and 1,000 images per label, 10 epochs
    python benchmarks/bench_finetune.py --sizes 50 200 --epochs 4 --threads 2

From FER2013's Training split, draw N images per label of a 3-label valence set (negative: angry, disgust, fear,
sad; neutral; positive: happy, surprise), write them as PNG files with a ``path,label,split`` manifest, and train
``vgg_m`` on them twice with the same epochs and batch 32: from scratch (the shipped recipe's learning rate 0.1)
and ``--init default`` (0.05 for the new head, ``--body-lr 0.2`` so 0.01 for the body). PublicTest, relabelled
the same way, is cut in two halves by position: the even rows select the epoch, the odd rows are scored once.
PrivateTest is never read.

The comparison flatters fine-tuning: the default model learnt from all of FER2013 Training (with its 7 labels) and
chose its epoch on PublicTest. It measures what a user gets from starting at the shipped weights on faces like
FER2013's, not a clean transfer result.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facemotion.data import load_fer2013
from facemotion.evaluation import evaluate
from facemotion.labels import EMOTIONS
from facemotion.training import TrainConfig, fit

VALENCE = {"angry": "negative", "disgust": "negative", "fear": "negative", "sad": "negative",
           "neutral": "neutral", "happy": "positive", "surprise": "positive"}
LABELS = ("negative", "neutral", "positive")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "fer2013.csv.gz"


def write_set(root: Path, train_images: np.ndarray, train_labels: np.ndarray, per_label: int,
              val_images: np.ndarray, val_labels: np.ndarray, seed: int) -> Path:
    """PNG files and a manifest: ``per_label`` training images per valence label, PublicTest in halves."""
    rng = np.random.default_rng(seed)
    valence = np.array([LABELS.index(VALENCE[e]) for e in EMOTIONS])
    rows = []
    train_v = valence[train_labels]
    for k, name in enumerate(LABELS):
        for i in rng.choice(np.flatnonzero(train_v == k), per_label, replace=False):
            rows.append((f"train/{i}.png", name, "train", train_images[i]))
    for i, (image, label) in enumerate(zip(val_images, valence[val_labels])):
        rows.append((f"public/{i}.png", LABELS[label], "val" if i % 2 == 0 else "test", image))
    for path, _, _, image in rows:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / path), image)
    manifest = root / "faces.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        writer.writerows(row[:3] for row in rows)
    return manifest


def run(manifest: Path, out: Path, *, init: str | None, epochs: int, threads: int) -> dict[str, float]:
    cfg = TrainConfig(data=str(manifest), out=str(out), model="vgg_m", epochs=epochs, batch_size=32,
                      lr=0.05 if init else 0.1, body_lr=0.2 if init else 1.0, warmup_epochs=0.5, init=init,
                      threads=threads, seed=0)
    start = time.perf_counter()
    fit(cfg)
    seconds = time.perf_counter() - start
    report = evaluate(out / "best.pt", manifest, split="test")
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args()

    fer = load_fer2013(args.data)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            root = Path(tmp) / f"n{n}"
            manifest = write_set(root, fer.train.images, fer.train.labels, n, fer.val.images, fer.val.labels, seed=n)
            row = {"per_label": n}
            for arm, init in (("scratch", None), ("default", "default")):
                row[arm] = run(manifest, root / f"run-{arm}", init=init, epochs=args.epochs, threads=args.threads)
                print(f"{n:>5} per label  {arm:<8} accuracy {100 * row[arm]['accuracy']:.1f} %  macro-F1 "
                      f"{100 * row[arm]['macro_f1']:.1f} %  ({row[arm]['seconds']:.0f} s)", flush=True)
            results.append(row)
    print(f"\nvgg_m, {args.epochs} epochs, {args.threads} threads, {platform.processor() or platform.machine()}; "
          f"scored on the odd half of PublicTest ({(len(fer.val) + 1) // 2} faces), 3 valence labels\n")
    print("| images per label | from scratch: accuracy / macro-F1 | from `default`: accuracy / macro-F1 |")
    print("|---|---|---|")
    for row in results:
        s, d = row["scratch"], row["default"]
        print(f"| {row['per_label']:,} | {100 * s['accuracy']:.1f} % / {100 * s['macro_f1']:.1f} % "
              f"| {100 * d['accuracy']:.1f} % / {100 * d['macro_f1']:.1f} % |")
    if args.json is not None:
        args.json.write_text(json.dumps({"epochs": args.epochs, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
