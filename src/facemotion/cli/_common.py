"""Checks every command makes before it writes anything: outputs that would destroy inputs, thread counts.

Only the standard library is imported here, so ``facemotion --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Optional

from facemotion.errors import FacemotionError

__all__ = ["CPU_COUNT", "same_file", "check_outputs"]

CPU_COUNT: int = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
"""The CPUs this process may run on: thread options are capped here, since more threads only contend."""


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path (through symlinks) or the same inode (hard links)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Mapping[str, Optional[Path]], inputs: Iterable[Path]) -> None:
    """Refuse, before anything is written, an output file that is a folder, an input, or another output.

    ``outputs`` maps the option (``--csv``) to its path (None: not asked for; ``-``: stdout). Opening an output
    truncates it, so ``video talk.mp4 --csv talk.mp4`` would destroy the recording before reading its first frame.
    """
    given = [(option, path) for option, path in outputs.items() if path is not None and str(path) != "-"]
    sources = list(inputs)
    for i, (option, path) in enumerate(given):
        if path.is_dir():
            raise FacemotionError(f"{option} {path}: is a folder; give a file name")
        for source in sources:
            if same_file(path, source):
                raise FacemotionError(f"{option} {path}: is the input {source}; writing it would destroy it, "
                                      f"choose another file")
        for other_option, other in given[:i]:
            if same_file(path, other):
                raise FacemotionError(f"{option} and {other_option} are the same file {path}; give each its own")
