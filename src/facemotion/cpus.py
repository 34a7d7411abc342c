"""How many CPUs this process may run on: every thread setting is capped there, since more threads only contend
(and ONNX Runtime given a hundred thousand of them ends the process)."""

from __future__ import annotations

import os

__all__ = ["usable_cpus"]


def usable_cpus() -> int:
    """The CPUs of this process's affinity mask (a container's or ``taskset``'s share), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
