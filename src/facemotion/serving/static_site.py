"""The page as a self-contained static site: what private mode downloads, and the folder ``export-web`` writes.

Private mode runs YuNet and a classifier in the browser (onnxruntime-web, vendored under ``static/vendor``). The
page learns what it may use from ``site.json``: the models with their sizes and labels (read from each model, as
the server reads them), the detector's settings (the server's own constants, so both sides decide alike) and
whether a server is behind the page. ``facemotion serve`` answers ``/site.json`` and ``/models/*`` from the
package; :func:`export_site` writes the same files into a folder any static host can serve.
"""

from __future__ import annotations

import gzip
import inspect
import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from facemotion import __version__
from facemotion.defaults import DEFAULT_IOU_THRESHOLD, DEFAULT_SMOOTH_WINDOW, DEFAULT_TRACK_TIMEOUT
from facemotion.errors import FacemotionError

__all__ = ["SiteFile", "site_files", "site_manifest", "export_site", "RUNTIME_DIR", "RUNTIME_WASM", "runtime_wasm_gz"]

RUNTIME_DIR = "static/vendor/onnxruntime-web"
"""Where the vendored runtime lies, relative to the page (``scripts/onnxruntime-web/refresh.sh`` fills it)."""
RUNTIME_WASM = "ort-wasm-simd-threaded.wasm"
"""The runtime's WebAssembly binary, as the page asks for it. The package keeps it gzipped (3.7 MB of 14.2): the
server sends those bytes as they are, with ``Content-Encoding: gzip``, and ``export-web`` writes it unpacked, since a
static host cannot be relied on to label a ``.gz`` file."""
_RUNTIME_FILES = ("ort.wasm.bundle.min.mjs", f"{RUNTIME_WASM}.gz")


@dataclass(frozen=True)
class SiteFile:
    """One model file of the site: its URL path relative to the page, and where it lies in the package."""

    url: str
    source: Path


def _static() -> Path:
    return Path(str(resources.files("facemotion.serving") / "static"))


def _runtime_dir() -> Path:
    return _static() / RUNTIME_DIR.removeprefix("static/")


def runtime_wasm_gz() -> Path:
    """The packaged, gzipped :data:`RUNTIME_WASM`."""
    return _runtime_dir() / f"{RUNTIME_WASM}.gz"


def _gunzipped_size(path: Path) -> int:
    """The size of the file ``path`` unpacks to (gzip's trailer holds it modulo 2**32: ample for a wasm binary)."""
    with path.open("rb") as f:
        f.seek(-4, 2)
        return int.from_bytes(f.read(4), "little")


def site_files() -> dict[str, SiteFile]:
    """The detector and packaged classifiers private mode can load, keyed ``detector`` and by model name."""
    from facemotion.faces.yunet_model import PACKAGED_YUNET
    from facemotion.inference.weights import PACKAGED_MODELS, packaged_dir

    files = {"detector": SiteFile(f"models/{PACKAGED_YUNET.name}", PACKAGED_YUNET)}
    for name in PACKAGED_MODELS:
        path = packaged_dir() / f"{name}.onnx"
        if path.is_file():
            files[name] = SiteFile(f"models/{name}.onnx", path)
    return files


def _detector_settings() -> dict[str, Any]:
    from facemotion.faces.align import default_margin
    from facemotion.faces.detect import (
        DEFAULT_MAX_SIDE,
        DEFAULT_MIN_FACE_SIZE,
        DEFAULT_SCORE_THRESHOLD,
        YUNET_SMALLEST_FACE,
        YuNetDetector,
    )

    nms = inspect.signature(YuNetDetector).parameters["nms_threshold"].default
    return {"name": "yunet", "score_threshold": DEFAULT_SCORE_THRESHOLD, "nms_threshold": nms,
            "min_face_size": DEFAULT_MIN_FACE_SIZE, "smallest_face": YUNET_SMALLEST_FACE, "max_side": DEFAULT_MAX_SIDE,
            "margin": default_margin("yunet")}


def site_manifest(*, server: bool, default_model: str = "default") -> dict[str, Any]:
    """``site.json``: the runtime, detector and models with their byte sizes, the live mode's tracking and smoothing
    (the server's defaults, so both modes label a webcam alike), and whether a server is there.

    Raises:
        FacemotionError: the vendored runtime or the packaged YuNet model is missing from this install.
    """
    from facemotion.inference.backends import OnnxClassifier

    runtime = [_runtime_dir() / name for name in _RUNTIME_FILES]
    files = site_files()
    missing = [p for p in (*runtime, files["detector"].source) if not p.is_file()]
    if missing:
        raise FacemotionError(f"private mode needs {', '.join(map(str, missing))}, missing from this install; "
                              f"reinstall facemotion (or run scripts/onnxruntime-web/refresh.sh in a checkout)")
    version = (runtime[0].parent / "VERSION").read_text().split()[1] if (runtime[0].parent / "VERSION").is_file() \
        else "unknown"
    # what the page downloads: the gzipped binary from the server, the unpacked one from a static host
    runtime_bytes = runtime[0].stat().st_size + (runtime[1].stat().st_size if server else _gunzipped_size(runtime[1]))
    models = [{"name": name, "path": f.url, "bytes": f.source.stat().st_size,
               "labels": list(OnnxClassifier(f.source).labels)} for name, f in files.items() if name != "detector"]
    detector = files["detector"]
    return {"facemotion": __version__, "server": server,
            "default_model": default_model if any(m["name"] == default_model for m in models) else models[0]["name"],
            "runtime": {"name": "onnxruntime-web", "version": version, "bytes": runtime_bytes},
            "detector": {**_detector_settings(), "path": detector.url, "bytes": detector.source.stat().st_size},
            "tracking": {"iou_threshold": DEFAULT_IOU_THRESHOLD, "timeout": DEFAULT_TRACK_TIMEOUT,
                         "smooth_window": DEFAULT_SMOOTH_WINDOW},
            "models": models}


def export_site(dest: Path, *, default_model: str = "default", overwrite: bool = False) -> dict[str, Any]:
    """Write the page, its scripts, the runtime and the models into ``dest``; returns the manifest written.

    The folder needs no server of facemotion's: private mode is its only mode. ``dest`` must be empty or absent
    unless ``overwrite`` (then the files written here replace those there; others are left alone).
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FacemotionError(f"{dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise FacemotionError(f"{dest}: the folder is not empty; choose another or pass --overwrite")
    manifest = site_manifest(server=False, default_model=default_model)
    offered = [m["name"] for m in manifest["models"]]
    if default_model not in offered:
        raise FacemotionError(f"--model {default_model!r}: the page offers {', '.join(offered)}; start with one of "
                              f"those")
    static = _static()
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(static / "index.html", dest / "index.html")
    shutil.copytree(static, dest / "static", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("index.html", "__pycache__", "*.map", "*.wasm.gz"))
    with gzip.open(runtime_wasm_gz()) as packed, (dest / RUNTIME_DIR / RUNTIME_WASM).open("wb") as out:
        shutil.copyfileobj(packed, out)
    (dest / "models").mkdir(exist_ok=True)
    for item in site_files().values():
        shutil.copy2(item.source, dest / item.url)
    for notice in site_files()["detector"].source.parent.glob("LICENSE*"):
        shutil.copy2(notice, dest / "models" / notice.name)  # YuNet's MIT notice travels with it
    (dest / "site.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
