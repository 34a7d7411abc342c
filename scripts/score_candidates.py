#!/usr/bin/env python
"""Score ensembles of trained networks on PublicTest, to choose a tier's members (never on PrivateTest).

    python scripts/score_candidates.py m2='src/facemotion/weights/accurate.onnx[0]' \
        s3='src/facemotion/weights/accurate.onnx[1]' s4='src/facemotion/weights/accurate.onnx[2]' \
        vs1=campaign/vgg_s_e60_s1 vs2=src/facemotion/weights/fast.onnx
    python scripts/score_candidates.py ... --candidates m2+s4 m2+s3+s4 --flip both --zoom 1.08

A member is ``NAME=PATH``: a run directory (its ``best.pt``), a ``.pt`` checkpoint, or an exported ``.onnx``
rebuilt in torch (``FILE.onnx[K]`` takes member ``K`` of an exported ensemble), as ``facemotion export`` reads
them. Each member's logits on PublicTest, plain and mirrored (and of each ``--zoom`` view), are computed once and
cached in ``artifacts/candidates/`` (keyed by the file's content and the zoom). A candidate averages its members'
logits, as :class:`~facemotion.models.ensemble.LogitEnsemble` does; with test-time views, the softmax of each
view's average is averaged, as the exported graph does (:class:`~facemotion.models.tta.TTAViews`). With
``--zoom``, every candidate is also scored with those zooms added. Without ``--candidates`` every subset of the
members is scored. Prints a Markdown table, best first, with each candidate's MACs per face (the cost that decides
its tier's faces/s).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from facemotion.data import load_fer2013
from facemotion.inference.weights import graph_source
from facemotion.models import LogitEnsemble
from facemotion.models.complexity import count_macs
from facemotion.models.tta import TTAViews, check_zooms, view_count
from facemotion.paths import sha256_of
from facemotion.training.checkpoint import BEST
from facemotion.training.export_model import load_members

CACHE = Path("artifacts/candidates")


def member_file(spec: str) -> Path:
    """The file a member's ``PATH`` names: a run directory's ``best.pt``, or the graph of ``FILE.onnx[K]``."""
    return Path(spec) / BEST if Path(spec).is_dir() else graph_source(spec)[0]


def load_member(spec: str) -> tuple[torch.nn.Module, Path]:
    """The eval-mode network (a logit-mean when ``spec`` holds several) and the file it came from."""
    if Path(spec).is_dir():
        spec = str(member_file(spec))
    nets = [net for net, _ in load_members(spec)]
    return (nets[0] if len(nets) == 1 else LogitEnsemble(nets)).eval(), graph_source(spec)[0]


def member_logits(model: torch.nn.Module, images: np.ndarray, zoom: float = 1.0, batch: int = 512) -> np.ndarray:
    """``(2, N, K)``: the logits of ``images`` (zoomed by ``zoom``) and of their mirror images."""
    views = TTAViews(flip=True, zooms=[] if zoom == 1.0 else [zoom])
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(images[start:start + batch]).float().unsqueeze(1)
            out.append(np.stack([model(view).numpy() for view in views(x)[-2:]]))
    return np.concatenate(out, axis=1)


def cached_logits(name: str, spec: str, images: np.ndarray, zooms: list[float]) -> tuple[dict[float, np.ndarray], int]:
    """Per zoom (1.0 and each of ``zooms``), the member's ``(2, N, K)`` logits, from the cache when there; its MACs."""
    model, path = load_member(spec)
    picked = graph_source(spec)[1]
    key = f"{sha256_of(path)[:16]}-{'all' if picked is None else '-'.join(map(str, picked))}"
    logits = {}
    for zoom in [1.0, *zooms]:
        cache = CACHE / (f"{key}.npz" if zoom == 1.0 else f"{key}-zoom{zoom!r}.npz")
        if cache.is_file():
            logits[zoom] = np.load(cache)["logits"]
            continue
        print(f"scoring {name} ({spec}{'' if zoom == 1.0 else f', zoom {zoom:g}'}) on PublicTest ...", flush=True)
        logits[zoom] = member_logits(model, images, zoom)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(cache, logits=logits[zoom])
    return logits, count_macs(model)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def accuracy(logits: list[np.ndarray], labels: np.ndarray, flip: bool) -> float:
    """``logits``: per member, ``(Z, 2, N, K)`` (Z zooms, plain and mirrored); every view's softmax (at temperature
    1: calibration rarely moves an argmax) is averaged."""
    mean = np.mean(logits, axis=0)
    views = mean.reshape(-1, *mean.shape[2:]) if flip else mean[:, 0]
    scores = np.mean([softmax(v) for v in views], axis=0)
    return float((scores.argmax(axis=1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("members", nargs="+", help="NAME=PATH (run dir, .pt, .onnx or FILE.onnx[K])")
    parser.add_argument("--data", default="../shared/data/fer2013/fer2013.csv.gz")
    parser.add_argument("--candidates", nargs="*", help="NAME+NAME+... (default: every subset)")
    parser.add_argument("--flip", choices=("yes", "no", "both"), default="both")
    parser.add_argument("--zoom", nargs="*", type=float, default=[],
                        help="also score every candidate with these centred zooms added as test-time views")
    parser.add_argument("--top", type=int, default=30, help="rows to print (default 30)")
    args = parser.parse_args()
    try:
        check_zooms(args.zoom)
    except ValueError as error:
        parser.error(f"--zoom: {error}")

    specs = dict(item.partition("=")[::2] for item in args.members)
    missing = [f"{name}={spec}" for name, spec in specs.items() if not member_file(spec).is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)} (a campaign run's weights live in git history: "
                     "python scripts/campaign_checkpoints.py restore RUN)")

    val = load_fer2013(args.data).val
    members: dict[str, tuple[dict[float, np.ndarray], int]] = {}
    for name, spec in specs.items():
        members[name] = cached_logits(name, spec, val.images, args.zoom)
    names = list(members)
    combos = ([c.split("+") for c in args.candidates] if args.candidates else
              [list(c) for r in range(1, len(names) + 1) for c in itertools.combinations(names, r)])
    flips = {"yes": [True], "no": [False], "both": [False, True]}[args.flip]
    zoom_sets = [[]] + ([args.zoom] if args.zoom else [])
    rows = []
    for combo in combos:
        for flip in flips:
            for zooms in zoom_sets:
                logits = [np.stack([members[n][0][z] for z in [1.0, *zooms]]) for n in combo]
                acc = accuracy(logits, val.labels, flip)
                macs = sum(members[n][1] for n in combo) * view_count(flip, zooms)
                rows.append((acc, "+".join(combo), flip, zooms, macs))
    rows.sort(key=lambda r: (-r[0], r[4]))
    print(f"\nPublicTest ({len(val.labels)} faces)\n")
    print("| candidate | flip | zooms | MMACs per face | PublicTest accuracy |\n|---|---|---|---|---|")
    for acc, combo, flip, zooms, macs in rows[:args.top]:
        zoom_text = " + ".join(f"{z:g}" for z in zooms) or "none"
        print(f"| {combo} | {'yes' if flip else 'no'} | {zoom_text} | {macs / 1e6:.1f} | {100 * acc:.2f} % |")


if __name__ == "__main__":
    main()
