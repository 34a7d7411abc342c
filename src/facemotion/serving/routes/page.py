"""The web page at ``/``, and what its private mode downloads to run the models in the browser: ``/site.json`` and
``/models/*`` (the page's static files are mounted at ``/static`` by the app). None of these is in the schema."""

from __future__ import annotations

import asyncio
import gzip
import logging
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from facemotion.errors import FacemotionError
from facemotion.serving.deps import SettingsDep
from facemotion.serving.errors import ServiceError, json_error
from facemotion.serving.routes import allow_head
from facemotion.serving.static_site import RUNTIME_DIR, RUNTIME_WASM, runtime_wasm_gz, site_files, site_manifest

__all__ = ["router", "static_dir", "model_files"]

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def static_dir() -> Path:
    """The packaged folder of the web page (index.html, app.js, style.css)."""
    return Path(str(resources.files("facemotion.serving") / "static"))


def model_files() -> dict[str, Path]:
    """``/models/{name}`` -> the packaged file it serves (the ONNX models and YuNet)."""
    return {f.url.split("/", 1)[1]: f.source for f in site_files().values()}


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})


allow_head(router, "/", page)


@router.get(f"/{RUNTIME_DIR}/{RUNTIME_WASM}")
async def runtime_wasm(request: Request) -> Response:
    """The runtime's wasm binary, sent gzipped as packaged (unpacked only for a client that refuses gzip)."""
    packed = runtime_wasm_gz()
    if not packed.is_file():
        return json_error(404, "private mode is not installed on this server")
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-cache"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return FileResponse(packed, media_type="application/wasm", headers={**headers, "Content-Encoding": "gzip"})
    data = await asyncio.to_thread(lambda: gzip.decompress(packed.read_bytes()))
    return Response(data, media_type="application/wasm", headers=headers)


allow_head(router, f"/{RUNTIME_DIR}/{RUNTIME_WASM}", runtime_wasm)


@router.get("/site.json")
async def site(request: Request, settings: SettingsDep) -> Any:
    manifest: dict[str, Any] = request.app.state.site_manifest  # built on the first request, then kept
    if not manifest:
        try:
            manifest.update(await asyncio.to_thread(site_manifest, server=True, default_model=settings.model))
        except FacemotionError as exc:  # an install without the runtime: the page offers server mode only
            logger.warning("private mode unavailable: %s", exc)
            return json_error(404, "private mode is not installed on this server")
    return JSONResponse(manifest, headers={"Cache-Control": "no-cache"})


@router.get("/models/{name}")
async def model_file(request: Request, name: str) -> FileResponse:
    path = request.app.state.model_files.get(name)
    if path is None:
        raise ServiceError(404, f"no model file {name!r} here")
    return FileResponse(path, media_type="application/octet-stream")
