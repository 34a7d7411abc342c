"""Inputs of a bulk job: files, folders and globs expanded to the photos or the videos to process, in order."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Inputs", "collect_inputs", "is_uri", "IMAGE_SUFFIXES", "VIDEO_INPUT_SUFFIXES"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".tif", ".tiff",
                            ".webp", ".ppm", ".pgm", ".pbm", ".pnm"})
"""Suffixes taken as photos in a folder: the set ``facemotion predict`` uses (cli/predict.py keeps its own copy so
that ``--help`` imports nothing; keep the two equal)."""

VIDEO_INPUT_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                                  ".3gp", ".ts"})
"""Suffixes taken as videos in a folder (what OpenCV's FFmpeg reads)."""


def is_uri(path: str) -> bool:
    """``s3://bucket/photos`` and the like: listed and read by the cluster's filesystem (Ray engine only)."""
    return "://" in path


@dataclass
class Inputs:
    """``paths`` to process, ``errors`` (input -> why it cannot be), ``notes`` for the user (skipped files)."""

    paths: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def collect_inputs(given: tuple[str, ...] | list[str], *, video: bool, recursive: bool = False) -> Inputs:
    """Files, folders and globs -> the inputs of one kind, without duplicates.

    A folder contributes the files of the job's kind and notes how many of the other kind it skipped (a folder mixing
    photos and videos is processed in two jobs, one with ``--video``); a file named on purpose is always tried, and a
    video given to a photo job (or a photo to a video job) becomes an error row naming the fix.
    """
    wanted = VIDEO_INPUT_SUFFIXES if video else IMAGE_SUFFIXES
    other = IMAGE_SUFFIXES if video else VIDEO_INPUT_SUFFIXES
    kind, other_kind = ("video", "photo") if video else ("photo", "video")
    found = Inputs()
    seen: set[str] = set()

    def add(path: str) -> None:
        if path in seen:
            return
        seen.add(path)
        suffix = Path(path).suffix.lower()
        if not is_uri(path) and suffix in other:
            flag = "without --video" if video else "with --video"
            found.errors[path] = f"{path}: a {other_kind}, not a {kind}; process it in a job {flag}"
        found.paths.append(path)

    def add_folder(folder: Path, name: str) -> None:
        walk = folder.rglob("*") if recursive else folder.iterdir()
        files = sorted(p for p in walk if p.is_file())
        mine = [p for p in files if p.suffix.lower() in wanted]
        skipped = sum(p.suffix.lower() in other for p in files)
        if skipped:
            flag = "with --video" if not video else "without --video"
            found.notes.append(f"{name}: skipped {skipped} {other_kind} file{'s' * (skipped > 1)}; "
                               f"process them in a job {flag}")
        if not mine:
            hint = "" if recursive else " (add --recursive for subfolders)"
            found.errors.setdefault(name, f"{name}: no {kind} files in this folder{hint}")
            found.paths.append(name)
        for file in mine:
            add(str(file))

    for item in given:
        path = Path(item)
        if is_uri(item):
            add(item)
        elif path.is_dir():
            add_folder(path, item)
        elif not path.exists() and glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                found.errors[item] = f"{item}: no files match this pattern"
                found.paths.append(item)
            for match in matches:
                add_folder(Path(match), match) if Path(match).is_dir() else add(match)
        else:
            add(item)  # a missing file is reported by the worker that tries it, like any unreadable one
    return found
