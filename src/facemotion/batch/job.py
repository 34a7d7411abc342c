"""What a bulk job is: its inputs, its output, what to run on each input and where; one description for every engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facemotion.checks import is_whole
from facemotion.errors import FacemotionError

__all__ = ["BatchError", "BatchJob", "ENGINES", "MAX_WORKERS"]

ENGINES = ("local", "ray")


MAX_WORKERS = 100_000
"""The most workers (processes, or Ray actors) a job may ask for; Ray refuses resource counts far beyond."""


class BatchError(FacemotionError):
    """A bulk job cannot start or go on: a bad option, an output that belongs to another job, a full disk."""


@dataclass(frozen=True)
class BatchJob:
    """A bulk job; the same description runs on the local process pool or on Ray.

    Args:
        inputs: files, folders or glob patterns (local paths); with the Ray engine also object-store URIs.
        out: photos: a ``.parquet`` folder of part files (the default) or a ``.csv`` file; videos: a folder.
        video: the inputs are videos: one CSV per video (the columns of ``facemotion video``) and a summary table.
        recognizer: keyword arguments of :class:`~facemotion.inference.recognizer.Recognizer`.
        analyzer: keyword arguments of :class:`~facemotion.video.VideoAnalyzer` (videos only).
        every: analyse every ``every``-th frame of each video.
        engine: ``local`` (a process pool on this machine) or ``ray`` (Ray Data on a cluster).
        workers: processes (local) or actors (Ray); 0 means one per core.
        batch_size: photos per task; results are written and the manifest updated once per finished batch.
        recursive: look for inputs in subfolders too.
        address: the Ray cluster to join (``auto``, ``host:port``, ``ray://host:port``); None starts a local Ray.
    """

    inputs: tuple[str, ...]
    out: Path
    video: bool = False
    recognizer: dict[str, Any] = field(default_factory=dict)
    analyzer: dict[str, Any] = field(default_factory=dict)
    every: int = 1
    engine: str = "local"
    workers: int = 0
    batch_size: int = 32
    recursive: bool = False
    address: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(str(i) for i in self.inputs))
        object.__setattr__(self, "out", Path(self.out))
        if not self.inputs:
            raise BatchError("give image or video files, folders or globs to process")
        if self.engine not in ENGINES:
            raise BatchError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if not is_whole(self.workers, 0) or self.workers > MAX_WORKERS:
            raise BatchError(f"workers must be a whole number from 0 (one per core) to {MAX_WORKERS:,}, "
                             f"got {self.workers!r}")
        if not is_whole(self.batch_size):
            raise BatchError(f"batch_size must be a whole number >= 1, got {self.batch_size!r}")
        if not is_whole(self.every):
            raise BatchError(f"every must be a whole number >= 1 (process every Nth frame), got {self.every!r}")
        if not self.video and self.out.suffix.lower() not in (".parquet", ".csv"):
            raise BatchError(f"{self.out}: the output of a photo job ends in .parquet (a folder of part files) or "
                             f".csv; for videos add --video and give a folder")
        if self.video and self.out.suffix.lower() in (".parquet", ".csv"):
            raise BatchError(f"{self.out}: a video job writes a folder (one CSV per video and summary.csv), "
                             f"not a single {self.out.suffix} file")

    @property
    def kind(self) -> str:
        return "videos" if self.video else "photos"

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What makes two runs the same job: the settings that change the rows. The inputs may grow between runs
        (a folder that got new photos): a rerun processes only what is not finished. The manifest adds the model's
        labels, read from the model file, to tell a job from another (:mod:`facemotion.batch.manifest`)."""
        recognizer = {**_recognizer_defaults(), **self.recognizer}
        recognizer.pop("threads", None)  # threads change no row
        return {"kind": self.kind, "recognizer": _plain(recognizer), "analyzer": _plain(self.analyzer),
                "every": self.every if self.video else None}

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["out"] = str(self.out)
        return _plain(record)


def _recognizer_defaults() -> dict[str, Any]:
    """The Recognizer's own defaults, so that a setting left out and the same setting given are the same job."""
    import inspect

    from facemotion.defaults import DEFAULT_MIN_FACE_SIZE, DEFAULT_SCORE_THRESHOLD
    from facemotion.inference.recognizer import Recognizer

    params = inspect.signature(Recognizer.__init__).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    # A job names its detector, whose limits the Recognizer's None stands for (None means more only for objects).
    return {**defaults, "min_face_size": DEFAULT_MIN_FACE_SIZE, "score_threshold": DEFAULT_SCORE_THRESHOLD}


def _plain(value: Any) -> Any:
    """JSON-ready: paths as strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
