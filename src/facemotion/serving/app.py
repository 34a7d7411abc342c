"""The HTTP service: ``POST /v1/predict``, ``/healthz``, ``/readyz``, the web page at ``/`` and the OpenAPI page.

A thin layer over one shared :class:`~facemotion.inference.recognizer.Recognizer`: it reads the upload, admits or
refuses the request (:mod:`facemotion.serving.limits`), runs decoding and inference on the worker threads so the
event loop keeps answering, and turns every failure into ``{"error": "..."}`` with a fitting status. No torch here.

Run it with ``facemotion serve``, or ``uvicorn --factory facemotion.serving.app:app_from_env`` (settings from the
``FACEMOTION_*`` environment variables).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from facemotion import __version__
from facemotion.errors import FacemotionError
from facemotion.serving.limits import Saturated, WorkLimiter
from facemotion.serving.recognizers import DETECTOR_CHOICES, MODEL_CHOICES, Recognizers
from facemotion.serving.schemas import ErrorResponse, HealthResponse, PredictResponse, ReadyResponse
from facemotion.serving.settings import ServeSettings
from facemotion.serving.uploads import ServiceError, check_declared_size, read_image

if TYPE_CHECKING:
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
    503: _error("every worker and queue slot is taken, or the model is still loading: see Retry-After"),
    504: _error("inference did not finish within the request timeout"),
}


def static_dir() -> Path:
    """The packaged folder of the web page (index.html, app.js, style.css)."""
    return Path(str(resources.files("facemotion.serving") / "static"))


def model_label(model: str) -> str:
    """How a model is named to clients: a packaged name as is, a file by its name only (no server paths)."""
    return model if model in MODEL_CHOICES else Path(model).name


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))
        given = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
        parts.append(f"{where}: {error.get('msg', 'invalid')}{given}")
    return "; ".join(parts) or "invalid request"


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _json_error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json_error(422, _validation_message(exc))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json_error(500, "internal server error")


def _infer(recognizers: Recognizers, data: bytes, name: str | None, model: str | None, detector: str | None,
           top_k: int, submitted: float) -> tuple[dict[str, Any], dict[str, float]]:
    """Runs on a worker thread: pick the Recognizer, decode, detect and classify; the JSON body and timings."""
    from facemotion.inference.images import load_image
    from facemotion.types import ImageResult

    started = time.perf_counter()
    recognizer = recognizers.get(model, detector)
    bgr = load_image(data, max_pixels=recognizers.settings.max_pixels)
    decoded = time.perf_counter()
    faces = recognizer.predict(bgr)
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
    _add_error_handlers(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                           expose_headers=["Retry-After", "Server-Timing"], max_age=600)

    key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="Needed only when the server was started with an API key.")
    bearer = HTTPBearer(auto_error=False, description="The API key as a bearer token (alternative to X-API-Key).")

    async def require_key(key: str | None = Security(key_header),
                          token: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        if settings.api_key is None:
            return
        given = key if key is not None else (token.credentials if token is not None else None)
        if given is None or not hmac.compare_digest(given.encode(), settings.api_key.encode()):
            raise ServiceError(401, "missing or wrong API key: send it as the X-API-Key header or as "
                                    "Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})

    @app.post("/v1/predict", response_model=None, dependencies=[Depends(require_key)], openapi_extra=_REQUEST_BODY,
              responses={200: {"model": PredictResponse, "description": "the faces found"}, **_PREDICT_ERRORS},
              summary="The emotion of every face in one image")
    async def predict(
        request: Request,
        detector: DetectorChoice | None = Query(None, description="face detector; default: the server's"),
        model: ModelChoice | None = Query(None, description="packaged classifier; default: the server's"),
        top_k: int = Query(1, ge=1, le=7, description="list the k most probable emotions per face (k > 1)"),
    ) -> JSONResponse:
        """Detect the faces in the image and classify each into the seven FER2013 emotions."""
        start = time.perf_counter()
        deadline = start + settings.timeout_s
        check_declared_size(request, settings.max_upload_bytes)
        if not recognizers.ready:
            raise ServiceError(503, recognizers.error or "the model is still loading", retry_after)
        try:
            slot = limiter.admit()
        except Saturated:
            raise ServiceError(503, f"busy: {limiter.capacity} requests are in flight; retry in "
                                    f"{settings.retry_after_s} s", retry_after) from None
        with slot:
            try:
                data, name = await asyncio.wait_for(read_image(request, settings.max_upload_bytes),
                                                    timeout=deadline - time.perf_counter())
            except asyncio.TimeoutError:
                raise ServiceError(408, f"the upload did not arrive within {settings.timeout_s:g} s") from None
            try:
                body, timing = await asyncio.wait_for(
                    slot.run(_infer, recognizers, data, name, model, detector, top_k, time.perf_counter()),
                    timeout=max(deadline - time.perf_counter(), 0.0))
            except asyncio.TimeoutError:
                raise ServiceError(504, f"the request took longer than {settings.timeout_s:g} s") from None
            except FacemotionError as exc:  # ImageError (bad upload), ModelError (an option that cannot load)
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

    @app.get("/readyz", response_model=ReadyResponse, summary="Readiness: the start-up model is loaded",
             responses={503: _error("the model is loading, or failed to load (the message says why)")})
    async def readyz() -> Any:
        if not recognizers.ready:
            return _json_error(503, recognizers.error or "the model is still loading", retry_after)
        return {"status": "ready", "model": model_label(settings.model), "detector": recognizers.get().detector.name,
                "workers": settings.workers, "capacity": limiter.capacity, "in_flight": limiter.in_flight}

    static = static_dir()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(static / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=static), name="static")
    return app


def app_from_env() -> FastAPI:
    """``uvicorn --factory facemotion.serving.app:app_from_env``: settings from ``FACEMOTION_*`` variables."""
    return create_app(settings=ServeSettings.from_env())
