#!/usr/bin/env python
"""Score ensembles of trained networks on PublicTest, to choose a tier's members (never on PrivateTest).

    python scripts/score_candidates.py m2='src/facemotion/weights/accurate.onnx[0]' \
        s3='src/facemotion/weights/accurate.onnx[1]' s4='src/facemotion/weights/accurate.onnx[2]' \
        vs1=campaign/vgg_s_e60_s1 vs2=src/facemotion/weights/fast.onnx
    python scripts/score_candidates.py ... --candidates m2+s4 m2+s3+s4 --flip both

A member is ``NAME=PATH``: a run directory (its ``best.pt``), a ``.pt`` checkpoint, or an exported ``.onnx``
rebuilt in torch (``FILE.onnx[K]`` takes member ``K`` of an exported ensemble), as ``facemotion export`` reads
them. Each member's logits on PublicTest, plain and mirrored, are computed once and cached in
``artifacts/candidates/`` (keyed by the file's content). A candidate averages its members' logits, as
:class:`~facemotion.models.ensemble.LogitEnsemble` does; with flip, the softmax of the plain and mirrored averages
is averaged, as the exported graph's flip TTA does. Without ``--candidates`` every subset of the members is scored.
Prints a Markdown table, best first, with each candidate's MACs per face (the cost that decides its tier's faces/s).
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
from facemotion.paths import sha256_of
from facemotion.training.export_model import load_members

CACHE = Path("artifacts/candidates")


def load_member(spec: str) -> tuple[torch.nn.Module, Path]:
    """The eval-mode network (a logit-mean when ``spec`` holds several) and the file it came from."""
    if Path(spec).is_dir():
        spec = str(Path(spec) / "best.pt")
    nets = [net for net, _ in load_members(spec)]
    return (nets[0] if len(nets) == 1 else LogitEnsemble(nets)).eval(), graph_source(spec)[0]


def member_logits(model: torch.nn.Module, images: np.ndarray, batch: int = 512) -> np.ndarray:
    """``(2, N, K)``: the logits of ``images`` and of their mirror images."""
    out = []
    with torch.inference_mode():
        for mirror in (False, True):
            chunks = []
            for start in range(0, len(images), batch):
                x = torch.from_numpy(images[start:start + batch]).float().unsqueeze(1)
                chunks.append(model(torch.flip(x, dims=[3]) if mirror else x).numpy())
            out.append(np.concatenate(chunks))
    return np.stack(out)


def cached_logits(name: str, spec: str, images: np.ndarray) -> tuple[np.ndarray, int]:
    model, path = load_member(spec)
    picked = graph_source(spec)[1]
    key = f"{sha256_of(path)[:16]}-{'all' if picked is None else '-'.join(map(str, picked))}"
    cache = CACHE / f"{key}.npz"
    if cache.is_file():
        logits = np.load(cache)["logits"]
    else:
        print(f"scoring {name} ({spec}) on PublicTest ...", flush=True)
        logits = member_logits(model, images)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(cache, logits=logits)
    return logits, count_macs(model)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def accuracy(logits: list[np.ndarray], labels: np.ndarray, flip: bool) -> float:
    mean = np.mean(logits, axis=0)  # (2, N, K)
    scores = (softmax(mean[0]) + softmax(mean[1])) / 2 if flip else mean[0]
    return float((scores.argmax(axis=1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("members", nargs="+", help="NAME=PATH (run dir, .pt, .onnx or FILE.onnx[K])")
    parser.add_argument("--data", default="../shared/data/fer2013/fer2013.csv.gz")
    parser.add_argument("--candidates", nargs="*", help="NAME+NAME+... (default: every subset)")
    parser.add_argument("--flip", choices=("yes", "no", "both"), default="both")
    parser.add_argument("--top", type=int, default=30, help="rows to print (default 30)")
    args = parser.parse_args()

    val = load_fer2013(args.data).val
    members: dict[str, tuple[np.ndarray, int]] = {}
    for item in args.members:
        name, _, spec = item.partition("=")
        members[name] = cached_logits(name, spec, val.images)
    names = list(members)
    combos = ([c.split("+") for c in args.candidates] if args.candidates else
              [list(c) for r in range(1, len(names) + 1) for c in itertools.combinations(names, r)])
    flips = {"yes": [True], "no": [False], "both": [False, True]}[args.flip]
    rows = []
    for combo in combos:
        for flip in flips:
            acc = accuracy([members[n][0] for n in combo], val.labels, flip)
            macs = sum(members[n][1] for n in combo) * (2 if flip else 1)
            rows.append((acc, "+".join(combo), flip, macs))
    rows.sort(key=lambda r: (-r[0], r[3]))
    print(f"\nPublicTest ({len(val.labels)} faces)\n")
    print("| candidate | flip | MMACs per face | PublicTest accuracy |\n|---|---|---|---|")
    for acc, combo, flip, macs in rows[:args.top]:
        print(f"| {combo} | {'yes' if flip else 'no'} | {macs / 1e6:.1f} | {100 * acc:.2f} % |")


if __name__ == "__main__":
    main()
