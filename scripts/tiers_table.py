#!/usr/bin/env python
"""The README's tiers table, from the packaged models' cards: what each release measured, never typed by hand.

    python scripts/tiers_table.py                       # every packaged tier
    python scripts/tiers_table.py --faces-per-second default=1234 fast=5678 accurate=321

Accuracy, macro-F1, per-class F1 and ECE (after calibration) are PrivateTest figures that
``scripts/release_model.sh`` wrote into the card; MACs, parameters and training time come from the export. Faces/s
are not in a card (they depend on the machine): pass the figures ``benchmarks/bench_inference.py`` printed.
"""

from __future__ import annotations

import argparse
from typing import Any

from facemotion.inference.weights import PACKAGED_MODELS, model_card, resolve_model
from facemotion.models.tta import view_count


def members_text(card: dict[str, Any]) -> str:
    members = card.get("members") or [card]
    names: dict[str, int] = {}
    for m in members:
        names[m["architecture"]] = names.get(m["architecture"], 0) + 1
    text = " + ".join(f"{n} x `{a}`" if n > 1 else f"`{a}`" for a, n in names.items())
    zooms = card.get("tta_zooms") or []
    return (text + (", flip TTA" if card.get("flip_tta") else "")
            + (f", zoom TTA {' + '.join(f'{z:g}' for z in zooms)}" if zooms else "")
            + (", int8" if (card.get("quantization") or {}).get("precision") == "int8" else ""))


def row(name: str, card: dict[str, Any], speed: str) -> list[str]:
    test = card["metrics"]["test"]
    labels = test["labels"]
    f1 = " / ".join(f"{100 * test['per_class'][label]['f1']:.1f}" for label in labels)
    size = resolve_model(name).stat().st_size / 1e6
    hours = card["training"].get("train_seconds", 0) / 3600
    passes = view_count(bool(card.get("flip_tta")), card.get("tta_zooms") or []) * card["macs"]
    return [f"`{name}`", members_text(card), f"**{100 * test['accuracy']:.2f} %**", f"{100 * test['macro_f1']:.2f} %",
            f1, f"{100 * test['ece_15']:.2f} %", speed, f"{passes / 1e6:.1f} M", f"{size:.1f} MB", f"{hours:.1f} h"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces-per-second", nargs="*", default=[], metavar="TIER=N",
                        help="bench_inference's batch-64 figures, e.g. default=1234")
    args = parser.parse_args()
    speeds = dict(item.split("=", 1) for item in args.faces_per_second)
    cards = {name: model_card(name) for name in PACKAGED_MODELS}
    labels = next(iter(cards.values()))["metrics"]["test"]["labels"]
    header = ["tier", "networks", "PrivateTest accuracy", "macro-F1", f"F1 per class ({' / '.join(labels)})",
              "ECE (calibrated)", "faces/s (batch 64)", "MACs per face", "file", "CPU training"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, card in cards.items():
        speed = f"{int(speeds[name]):,}" if name in speeds else "-"
        print("| " + " | ".join(row(name, card, speed)) + " |")


if __name__ == "__main__":
    main()
