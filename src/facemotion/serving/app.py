"""The HTTP service: ``POST /v1/predict``, ``/healthz``, ``/readyz``, the web page at ``/`` and the OpenAPI page.

A thin layer over one shared :class:`~facemotion.inference.recognizer.Recognizer`: it reads the upload, admits or
refuses the request (:mod:`facemotion.serving.limits`), runs decoding and inference on the worker threads so the
event loop keeps answering, and turns every failure into ``{"error": "..."}`` with a fitting status. No torch here.

Run it with ``facemotion serve``, or ``uvicorn --factory facemotion.serving.app:app_from_env`` (settings from the
``FACEMOTION_*`` environment variables).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles

from facemotion import __version__
from facemotion.errors import FacemotionError, ModelError, NoHeatmapsError
from facemotion.labels import MAX_TOP_K
from facemotion.serving.auth import api_key_dependencies
from facemotion.serving.errors import add_error_handlers, json_error
from facemotion.serving.limits import Saturated, UploadBudget, WorkLimiter
from facemotion.serving.recognizers import DETECTOR_CHOICES, MODEL_CHOICES, ChoiceUnavailable, Recognizers
from facemotion.serving.schemas import ErrorResponse, HealthResponse, PredictResponse, ReadyResponse, relabel_openapi
from facemotion.serving.settings import ServeSettings
from facemotion.serving.uploads import ServiceError, check_declared_size, read_image

if TYPE_CHECKING:
    from facemotion.inference.explain import Explain
    from facemotion.inference.recognizer import Recognizer

__all__ = ["create_app", "app_from_env", "static_dir", "model_label"]

logger = logging.getLogger(__name__)

ModelChoice = Literal[MODEL_CHOICES]  # type: ignore[valid-type]
DetectorChoice = Literal[DETECTOR_CHOICES]  # type: ignore[valid-type]

_BINARY = {"type": "string", "format": "binary"}
_REQUEST_BODY = {"requestBody": {"required": True, "description": (
    "The image (JPEG, PNG, WebP, BMP, TIFF, GIF...): a multipart/form-data file field `image`, or the encoded image "
    "itself as the body."), "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {"image": _BINARY}}},
        "image/*": {"schema": _BINARY},
        "application/octet-stream": {"schema": _BINARY}}}}


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


_PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("not an image, a corrupt or truncated image, over the pixel limit, empty, or no `image` field"),
    401: _error("the server has an API key and the request did not give it"),
    408: _error("the upload did not arrive within the request timeout"),
    413: _error("the upload is larger than the byte limit"),
    415: _error("the body is declared as something other than an image"),
    422: _error("a query option has an unknown value"),
    503: _error("every worker and queue slot is taken, the uploads under way hold the upload memory budget, or "
                "the model is still loading: see Retry-After"),
    504: _error("inference did not finish within the request timeout"),
}


def static_dir() -> Path:
    """The packaged folder of the web page (index.html, app.js, style.css)."""
    return Path(str(resources.files("facemotion.serving") / "static"))


def model_label(model: str) -> str:
    """How a model is named to clients: a packaged name as is, a file by its name only (no server paths)."""
    return model if model in MODEL_CHOICES else Path(model).name


def _allow_head(app: FastAPI, path: str, endpoint: Any) -> None:
    """Answer ``HEAD path`` like ``GET path`` (the server sends no body), kept out of the schema."""
    app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)


def parse_explain(value: str | None, labels: Sequence[str] | None = None) -> Explain:
    """The ``explain`` query: absent/false -> no heatmaps, true/top -> top label, all, or comma-separated labels.

    ``labels``, the serving model's label names when known, refuses unknown names before the upload is read (the
    Recognizer checks them again against the model a request picks).
    """
    from facemotion.inference.explain import explain_labels

    text = (value or "").strip()
    if text.lower() in ("", "false", "0", "no"):
        return False
    lowered = text.lower()
    explain: Explain = True if lowered in ("true", "1", "yes", "top") else "all" if lowered == "all" else [
        name.strip() for name in text.split(",") if name.strip()]
    if labels is not None:
        explain = _label_case(explain, labels)
        explain_labels(explain, labels)
    return explain


def _label_case(explain: Explain, labels: Sequence[str]) -> Explain:
    """Query names matched to the model's labels regardless of case (``HAPPY`` is ``happy``)."""
    if isinstance(explain, (bool, str)):
        return explain
    by_lower = {label.lower(): label for label in labels}
    return [name if name in labels else by_lower.get(name.lower(), name) for name in explain]


def _infer(recognizers: Recognizers, data: bytes, name: str | None, model: str | None, detector: str | None,
           top_k: int, submitted: float, explain: Explain = False) -> tuple[dict[str, Any], dict[str, float]]:
    """Runs on a worker thread: pick the Recognizer, decode, detect and classify; the JSON body and timings."""
    from facemotion.inference.images import load_image
    from facemotion.types import ImageResult

    started = time.perf_counter()
    recognizer = recognizers.get(model, detector)
    explain = _label_case(explain, recognizer.labels)
    bgr = load_image(data, max_pixels=recognizers.settings.max_pixels)
    decoded = time.perf_counter()
    faces = recognizer.predict(bgr, explain=explain)
    done = time.perf_counter()
    body = ImageResult(name, tuple(faces), width=int(bgr.shape[1]), height=int(bgr.shape[0])).to_dict()
    body["faces"] = [face.to_dict(top_k=top_k) for face in faces]
    body["model"] = model or model_label(recognizers.settings.model)
    body["detector"] = recognizer.detector.name
    timing = {"queue": started - submitted, "decode": decoded - started, "inference": done - decoded}
    return body, timing


def create_app(recognizer: Recognizer | None = None, *, settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI app around one shared Recognizer.

    Args:
        recognizer: the start-up Recognizer (the CLI builds it first, so a bad model fails before the port opens);
            None loads ``settings.model``/``settings.detector`` in the background at start-up, ``/readyz``
            answering 503 until it is done. A given Recognizer is what ``settings.model``/``detector`` name.
        settings: limits and choices; default :meth:`ServeSettings.from_env`.
    """
    settings = settings if settings is not None else ServeSettings.from_env()
    recognizers = Recognizers(settings, recognizer)
    limiter = WorkLimiter(workers=settings.workers, max_queue=settings.max_queue)
    uploads = UploadBudget(settings.capacity * settings.max_upload_bytes)
    retry_after = {"Retry-After": str(settings.retry_after_s)}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not recognizers.ready:
            def load() -> None:
                try:
                    recognizers.load_default()
                except Exception:
                    logger.exception("cannot load the model; /readyz answers 503")

            threading.Thread(target=load, name="facemotion-load", daemon=True).start()
        logger.info("serving with %s", settings.public())
        try:
            yield
        finally:
            limiter.shutdown()

    app = FastAPI(title="facemotion", version=__version__, lifespan=lifespan, redoc_url=None,
                  description="The emotion on every face in an image (the seven FER2013 labels). "
                              "`POST /v1/predict` with an image; the web page is at `/`.")
    app.state.settings, app.state.recognizers, app.state.limiter = settings, recognizers, limiter
    app.state.uploads = uploads
    add_error_handlers(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                           expose_headers=["Retry-After", "Server-Timing"], max_age=600)

    @app.post("/v1/predict", response_model=None, dependencies=api_key_dependencies(settings.api_key),
              openapi_extra=_REQUEST_BODY,
              responses={200: {"model": PredictResponse, "description": "the faces found"}, **_PREDICT_ERRORS},
              summary="The emotion of every face in one image")
    async def predict(
        request: Request,
        detector: DetectorChoice | None = Query(None, description="face detector; default: the server's"),
        model: ModelChoice | None = Query(None, description="packaged classifier; default: the server's"),
        top_k: int = Query(1, ge=1, le=MAX_TOP_K, description="list the k most probable emotions per face (k > 1; at "
                                                                     "most the model's label count are listed)"),
        explain: str | None = Query(None, description="heatmaps of where each face's emotion was read: true (its "
                                                      "top label), all, or comma-separated label names")
    ) -> JSONResponse:
        """Detect the faces in the image and classify each into the seven FER2013 emotions."""
        start = time.perf_counter()
        try:
            wanted = parse_explain(explain, recognizers.get().labels if recognizers.ready and model is None else None)
        except FacemotionError as exc:
            raise ServiceError(400, str(exc)) from None
        deadline = start + settings.timeout_s
        check_declared_size(request, settings.max_upload_bytes)
        if not recognizers.ready:
            raise ServiceError(503, recognizers.error or "the model is still loading", retry_after)
        busy = ServiceError(503, f"busy: {limiter.capacity} requests are in flight; retry in "
                                 f"{settings.retry_after_s} s", retry_after)
        if limiter.saturated:  # refuse before reading a byte of the upload
            raise busy
        with uploads.hold() as held:
            try:  # read whole before taking a slot: a slow upload holds its connection only, never a worker
                data, name = await asyncio.wait_for(read_image(request, settings.max_upload_bytes, held.take,
                                                               held.give),
                                                    timeout=deadline - time.perf_counter())
            except asyncio.TimeoutError:
                raise ServiceError(408, f"the upload did not arrive within {settings.timeout_s:g} s") from None
            except Saturated:
                raise ServiceError(503, f"busy: uploads under way hold {uploads.limit:,} bytes; retry in "
                                        f"{settings.retry_after_s} s", retry_after) from None
            try:
                slot = limiter.admit()
            except Saturated:
                raise busy from None
            held.until_done(slot)  # the pool thread holds the upload until its job ends, even after a 504
            with slot:
                try:
                    body, timing = await asyncio.wait_for(
                        slot.run(_infer, recognizers, data, name, model, detector, top_k, time.perf_counter(), wanted),
                        timeout=max(deadline - time.perf_counter(), 0.0))
                except asyncio.TimeoutError:
                    raise ServiceError(504, f"the request took longer than {settings.timeout_s:g} s") from None
                except ChoiceUnavailable as exc:  # the reason names server files: log it, answer without it
                    logger.warning("%s %s: %s", request.method, request.url.path, exc.reason)
                    raise ServiceError(400, str(exc)) from None
                except NoHeatmapsError as exc:  # explain with a model without heatmaps; the reason names server files
                    logger.warning("%s %s: %s", request.method, request.url.path, exc)
                    raise ServiceError(400, "this model gives no heatmaps (exported before they existed); the "
                                            "operator can re-export it: facemotion export --weights MODEL.onnx "
                                            "--out NEW.onnx") from None
                except ModelError as exc:  # the model itself failed; the reason names server files: log it
                    logger.error("%s %s: the model failed: %s", request.method, request.url.path, exc)
                    raise ServiceError(500, "the model failed on this request; the server log says why") from None
                except FacemotionError as exc:  # ImageError: a bad upload, described to its sender
                    raise ServiceError(400, str(exc)) from None
                except Exception:
                    logger.exception("inference failed")
                    raise ServiceError(500, "internal server error: inference failed") from None
        timing["total"] = time.perf_counter() - start
        body["timing_ms"] = {k: round(v * 1000.0, 2) for k, v in timing.items()}
        server_timing = ", ".join(f"{k};dur={v}" for k, v in body["timing_ms"].items())
        return JSONResponse(body, headers={"Server-Timing": server_timing})

    @app.get("/healthz", response_model=HealthResponse, summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _allow_head(app, "/healthz", healthz)

    @app.get("/readyz", response_model=ReadyResponse, summary="Readiness: the start-up model is loaded",
             responses={503: _error("the model is loading, or failed to load (the message says why)")})
    async def readyz() -> Any:
        if not recognizers.ready:
            return json_error(503, recognizers.error or "the model is still loading", retry_after)
        return {"status": "ready", "model": model_label(settings.model), "detector": recognizers.get().detector.name,
                "workers": settings.workers, "capacity": limiter.capacity, "in_flight": limiter.in_flight}

    _allow_head(app, "/readyz", readyz)

    static = static_dir()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(static / "index.html", headers={"Cache-Control": "no-cache"})

    _allow_head(app, "/", page)
    _add_private_mode(app, settings)

    app.mount("/static", StaticFiles(directory=static), name="static")
    _openapi_with_model_labels(app, recognizers)
    return app


def _openapi_with_model_labels(app: FastAPI, recognizers: Recognizers) -> None:
    """Describe the serving model's labels in ``/openapi.json``, once the model is loaded (FastAPI caches the
    document only after that, so a request during loading does not freeze the FER2013 description)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        app.openapi_schema = None  # FastAPI cached it; keep it only once relabelled
        if not recognizers.ready:
            return schema
        app.openapi_schema = relabel_openapi(schema, recognizers.get().labels)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_private_mode(app: FastAPI, settings: ServeSettings) -> None:
    """``/site.json`` and ``/models/*``: what the page's private mode downloads to run the models in the browser."""
    from facemotion.serving.static_site import site_files, site_manifest

    model_files = {f.url.split("/", 1)[1]: f.source for f in site_files().values()}
    manifest: dict[str, Any] = {}

    @app.get("/site.json", include_in_schema=False)
    async def site() -> Any:
        if not manifest:
            try:
                manifest.update(await asyncio.to_thread(site_manifest, server=True, default_model=settings.model))
            except FacemotionError as exc:  # an install without the runtime: the page offers server mode only
                logger.warning("private mode unavailable: %s", exc)
                return json_error(404, "private mode is not installed on this server")
        return JSONResponse(manifest, headers={"Cache-Control": "no-cache"})

    @app.get("/models/{name}", include_in_schema=False)
    async def model_file(name: str) -> FileResponse:
        path = model_files.get(name)
        if path is None:
            raise ServiceError(404, f"no model file {name!r} here")
        return FileResponse(path, media_type="application/octet-stream")


def app_from_env() -> FastAPI:
    """``uvicorn --factory facemotion.serving.app:app_from_env``: settings from ``FACEMOTION_*`` variables."""
    return create_app(settings=ServeSettings.from_env())
