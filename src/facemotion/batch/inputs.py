"""Inputs of a bulk job: what :func:`facemotion.inputs.expand` lists (the expansion ``predict`` uses), plus the notes
and errors of a job of one kind, and object-store URIs listed file by file for the Ray engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facemotion.batch.job import BatchError
from facemotion.inputs import IMAGE_SUFFIXES, VIDEO_INPUT_SUFFIXES, expand, is_uri

__all__ = ["Inputs", "collect_inputs", "is_uri"]


@dataclass
class Inputs:
    """``paths`` to process, ``errors`` (input -> why it cannot be), ``notes`` for the user (skipped files), and
    ``read_as``: each URI's path as its filesystem names it (what Ray Data reports back for it, without the scheme)."""

    paths: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    read_as: dict[str, str] = field(default_factory=dict)


def collect_inputs(given: tuple[str, ...] | list[str], *, video: bool, recursive: bool = False,
                   uris: bool = False) -> Inputs:
    """Files, folders, globs (and with ``uris`` object-store URIs) -> the inputs of one kind, each file once.

    A folder contributes the files of the job's kind and notes how many of the other kind it skipped (a folder mixing
    photos and videos is processed in two jobs, one with ``--video``); a file named on purpose is always tried, and a
    video given to a photo job (or a photo to a video job) becomes an error row naming the fix. A URI (``uris``: the
    Ray engine) is listed here, in the driver, file by file, so that the manifest names the same files on every run;
    without ``uris`` a URI is an error row.
    """
    other = IMAGE_SUFFIXES if video else VIDEO_INPUT_SUFFIXES
    kind, other_kind = ("video", "photo") if video else ("photo", "video")
    flag = "without --video" if video else "with --video"
    expanded = expand(given, recursive=recursive, video=video)
    found = Inputs()
    for folder, skipped in expanded.skipped.items():
        found.notes.append(f"{folder}: skipped {skipped} {other_kind} file{'s' * (skipped > 1)}; "
                           f"process them in a job {flag}")
    listed: set[str] = set()

    def add(path: str, error: str | None = None) -> None:
        if path in listed:
            return
        listed.add(path)
        if error is None and Path(path).suffix.lower() in other:
            error = f"{path}: a {other_kind}, not a {kind}; process it in a job {flag}"
        if error is not None:
            found.errors[path] = error
        found.paths.append(path)

    for path, error in expanded.items:
        if not is_uri(path):
            add(path, error)
        elif not uris:
            add(path, f"{path}: object-store URIs are read by --engine ray only")
        else:
            for uri, fs_path, uri_error in _list_uri(path, video=video, recursive=recursive):
                if uri_error is None:
                    found.read_as[uri] = fs_path
                add(uri, uri_error)
    return found


def _list_uri(uri: str, *, video: bool, recursive: bool) -> list[tuple[str, str, str | None]]:
    """``(file URI, its filesystem path, error)`` for a URI naming a file or a folder (``s3://bucket/photos/``)."""
    try:
        from pyarrow import fs
    except ImportError:
        raise BatchError(f"{uri}: object-store inputs need pyarrow: pip install 'facemotion[ray]'") from None
    try:
        filesystem, root = fs.FileSystem.from_uri(uri)
        info = filesystem.get_file_info(root)
        if info.type == fs.FileType.NotFound:
            return [(uri, root, f"{uri}: no such file or folder")]
        if info.type != fs.FileType.Directory:
            return [(uri, root, None)]
        listing = filesystem.get_file_info(fs.FileSelector(root, recursive=recursive))
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError, ArrowIOError an OSError
        return [(uri, uri, f"{uri}: cannot list it ({exc})")]
    wanted = VIDEO_INPUT_SUFFIXES if video else IMAGE_SUFFIXES
    base = uri.rstrip("/")
    prefix = base[:-len(root)] if root and base.endswith(root) else uri.split("://", 1)[0] + "://"
    files = sorted(i.path for i in listing if i.type == fs.FileType.File and Path(i.path).suffix.lower() in wanted)
    if not files:
        hint = "" if recursive else " (add --recursive for subfolders)"
        return [(uri, root, f"{uri}: no {'video' if video else 'image'} files in this folder{hint}")]
    return [(prefix + path, path, None) for path in files]
