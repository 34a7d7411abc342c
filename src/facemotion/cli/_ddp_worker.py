"""One process of ``facemotion train --nproc N``: reads the job ``launch_local`` wrote and calls ``fit`` or
``resume`` (which join the process group from the environment torchrun sets)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str]) -> int:
    from facemotion.cli._progress import train_progress
    from facemotion.errors import FacemotionError
    from facemotion.training import TrainConfig, fit, resume

    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, stream=sys.stderr,
                        format="%(message)s" if rank == 0 else f"rank {rank}: %(message)s")
    job = json.loads(Path(argv[0]).read_text())
    try:
        if job.get("resume"):
            run_dir = resume(job["resume"], progress=train_progress(job["progress"]), threads=job.get("threads"))
        else:
            run_dir = fit(TrainConfig.from_dict(job["config"]), progress=train_progress(job["progress"]))
    except FacemotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if rank == 0:
        print(f"run directory: {run_dir}")
    return 0


def _exit(code: int) -> None:
    """Leave without running C++ destructors: the run folder is written and the process group destroyed, but
    gloo's threads can still be joinable at interpreter exit, and their destructor aborts the process ("terminate
    called without an active exception", exit -6), which torchrun reports as a failed run."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    _exit(main(sys.argv[1:]))
