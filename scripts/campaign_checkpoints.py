#!/usr/bin/env python
"""Bring back the campaign's checkpoints from git history, where they are kept out of the working tree.

    python scripts/campaign_checkpoints.py list                          # every stored weight file, and where
    python scripts/campaign_checkpoints.py restore                       # all of them, into campaign/
    python scripts/campaign_checkpoints.py restore vgg_m_e150_s8 vgg_l_e60_s14

The working tree travels to the GPU machine beside the training payload, 64 MiB in all, so it keeps only the run
records (``config.json``, ``metrics.csv``, ``curves.png``, an exported network's card) and the checkpoints of runs
still in progress. A finished run's weights (``best.pt``, or ``RUN.onnx`` for a network exported alone) are
committed once and then removed from the tree; git history holds them byte for byte, so this script restores each
from the last commit that had it. A file already in the tree is left as it is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = "campaign"


def is_weights(name: str) -> bool:
    """A run's selected weights: ``best.pt`` or an exported ``.onnx`` (a finished run's ``last.pt`` is not kept)."""
    return name.endswith("/best.pt") or name.endswith(".onnx")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


def stored_weights(repo: Path = REPO) -> dict[str, str]:
    """Each weight file removed from ``campaign/``, with the commit that last held it (newest removal wins)."""
    log = _git(repo, "log", "--diff-filter=D", "--name-only", "--format=%x00%H", "--", CAMPAIGN).decode()
    found: dict[str, str] = {}
    for block in filter(None, log.split("\0")):
        commit, *names = block.split("\n")
        for name in filter(None, names):
            if is_weights(name) and name not in found:
                found[name] = f"{commit[:12]}^"
    return found


def restore(repo: Path, runs: list[str]) -> list[str]:
    """Write the stored weights of ``runs`` (all when empty) into the tree; returns the paths written."""
    stored = stored_weights(repo)
    known = {Path(name).parent.name for name in stored}
    unknown = sorted(set(runs) - known)
    if unknown:
        raise SystemExit(f"no stored checkpoint for {', '.join(unknown)} (runs with one: {', '.join(sorted(known))})")
    written = []
    for name, commit in sorted(stored.items()):
        path = repo / name
        if (runs and path.parent.name not in runs) or path.exists():
            continue
        blob = _git(repo, "show", f"{commit}:{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(blob)
        tmp.replace(path)
        written.append(name)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every stored weight file, the commit that holds it, and whether it is in the tree")
    restore_cmd = sub.add_parser("restore", help="write stored weights back into campaign/")
    restore_cmd.add_argument("runs", nargs="*", help="run folder names (default: every run)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, commit in sorted(stored_weights(REPO).items()):
            state = "in the tree" if (REPO / name).exists() else "history only"
            print(f"{name}\t{commit}\t{state}")
        return
    written = restore(REPO, args.runs)
    for name in written:
        print(f"restored {name}")
    print(f"{len(written)} file(s) restored", file=sys.stderr)


if __name__ == "__main__":
    main()
