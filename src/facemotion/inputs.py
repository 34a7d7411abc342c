"""Inputs named on a command line: files, folders and glob patterns expanded to the photos or videos to process.

Written once, for ``facemotion predict`` and ``facemotion batch`` (and whatever else takes many files), so the two
list the same files for the same arguments. Standard library only: the CLI imports it before ``--help``.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

__all__ = ["IMAGE_SUFFIXES", "VIDEO_INPUT_SUFFIXES", "Expanded", "expand", "expand_inputs", "is_uri"]

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".tif",
                                            ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"})
"""Suffixes taken as photos in a folder or a pattern's folder (what OpenCV decodes); the only copy."""

VIDEO_INPUT_SUFFIXES: frozenset[str] = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg",
                                                  ".wmv", ".flv", ".3gp", ".ts"})
"""Suffixes taken as videos in a folder (what OpenCV's FFmpeg reads)."""


def is_uri(path: str) -> bool:
    """``s3://bucket/photos`` and the like: not a local path; left to the caller (the Ray engine lists them)."""
    return "://" in path


@dataclass
class Expanded:
    """``items``: ``(path, error)`` pairs in order, each file once (``error`` None: to be read); ``skipped``: folder
    -> how many files of the other kind (videos in a photo job, photos in a video job) it held and were left out."""

    items: list[tuple[str, Optional[str]]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def expand(inputs: Sequence[str], *, recursive: bool = False, video: bool = False) -> Expanded:
    """Files, folders, glob patterns and URIs -> the photos (or, with ``video``, the videos) to process.

    A folder contributes its files of the kind (by suffix; all subfolders with ``recursive``); a named file is always
    tried, whatever its suffix, so a wrong file gets a clear error instead of being skipped silently. A file reached
    twice (named twice, or through a symlink) is listed once; symlinked folders are not followed by ``**`` or
    ``recursive`` (a link to its own folder would repeat every file, or never end); pipes, sockets and devices are
    skipped in folders and patterns and refused when named (reading one would block forever). URIs are passed on as
    given. A missing named file is listed without an error: the reader reports it, as it does an unreadable one.
    """
    wanted, other = (VIDEO_INPUT_SUFFIXES, IMAGE_SUFFIXES) if video else (IMAGE_SUFFIXES, VIDEO_INPUT_SUFFIXES)
    kind = "video" if video else "image"
    found = Expanded()
    out: dict[str, Optional[str]] = {}
    seen: set[Path] = set()

    def add_file(file: Path) -> None:
        real = file.resolve()
        if real not in seen:
            seen.add(real)
            out.setdefault(str(file), None)

    def add_folder(folder: Path, given: str) -> None:
        walk = folder.rglob("*") if recursive else folder.iterdir()
        files = sorted(p for p in walk if p.is_file())
        mine = [p for p in files if p.suffix.lower() in wanted]
        if skipped := sum(p.suffix.lower() in other for p in files):
            found.skipped[given] = found.skipped.get(given, 0) + skipped
        if not mine:
            hint = "" if recursive else " (add --recursive for subfolders)"
            out.setdefault(given, f"{given}: no {kind} files in this folder{hint}")
        for file in mine:
            add_file(file)

    for given in inputs:
        path = Path(given)
        if not given.strip():  # Path("") is ".": an empty argument (an unset shell variable) must not mean "here"
            out.setdefault(given, "an empty input name: give a file, folder or pattern")
        elif is_uri(given):
            out.setdefault(given, None)
        elif path.is_dir():
            add_folder(path, given)
        elif not path.exists() and glob.has_magic(given):
            try:
                matches = _glob(given)
            except ValueError as exc:  # pathlib: "'**' can only be an entire path component"
                out.setdefault(given, f"{given}: not a valid pattern ({exc})")
                continue
            if not matches:
                out.setdefault(given, f"{given}: no files match this pattern")
            for match in matches:
                if match.is_dir():
                    add_folder(match, str(match))
                elif match.is_file():  # not a pipe, socket or device named *.jpg
                    add_file(match)
        elif path.exists() and not path.is_file():
            out.setdefault(given, f"{given}: not a regular file (a pipe, socket or device)")
        elif path.exists():
            add_file(path)
        else:
            out.setdefault(given, None)  # missing files are reported by the reader, with the others
    found.items = list(out.items())
    return found


def expand_inputs(inputs: Sequence[str], *, recursive: bool = False) -> list[tuple[str, Optional[str]]]:
    """The photos of ``inputs`` as ``(path, error)`` pairs in order, each file once (see :func:`expand`)."""
    return expand(inputs, recursive=recursive).items


def _glob(pattern: str) -> list[Path]:
    """What ``glob.glob(pattern, recursive=True)`` matches, sorted, except that ``**`` does not descend into
    symlinked folders (glob.glob does, so two links to their own folder make it run for hours); hidden names are
    left out unless the pattern spells a leading dot, as glob.glob does."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:first]) if first else Path()
    rest = parts[first:]
    hidden = any(part.startswith(".") for part in rest)
    matches = (m for m in base.glob(str(Path(*rest))))
    return sorted(m for m in matches if hidden or not any(p.startswith(".") for p in m.relative_to(base).parts))
