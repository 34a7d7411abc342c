"""The HTTP service: ``POST /v1/predict``, ``/healthz``, ``/readyz``, the web page at ``/`` and the OpenAPI page.

FastAPI's "bigger applications" layout: :func:`create_app` builds the shared state once and puts it on
``app.state`` (settings, :class:`~facemotion.serving.recognizers.Recognizers`, the work limiter, the upload budget),
the routes live in :mod:`facemotion.serving.routes` and take that state through the small dependencies of
:mod:`facemotion.serving.deps`, the start-up and shut-down are :func:`lifespan`, and failures are answered by the
handlers of :mod:`facemotion.serving.errors`.

A thin layer over one shared :class:`~facemotion.inference.recognizer.Recognizer`: it reads the upload, admits or
refuses the request (:mod:`facemotion.serving.limits`), runs decoding and inference on the worker threads so the
event loop keeps answering, and turns every failure into ``{"error": "..."}`` with a fitting status. No torch here.

Run it with ``facemotion serve``, or ``uvicorn --factory facemotion.serving.app:app_from_env`` (settings from the
``FACEMOTION_*`` environment variables).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from facemotion import __version__
from facemotion.serving.auth import api_key_dependencies
from facemotion.serving.errors import add_error_handlers
from facemotion.serving.limits import UploadBudget, WorkLimiter
from facemotion.serving.recognizers import Recognizers, model_label
from facemotion.serving.routes import health, page
from facemotion.serving.routes import predict as predict_route
from facemotion.serving.routes.page import static_dir
from facemotion.serving.schemas import relabel_openapi
from facemotion.serving.settings import ServeSettings

if TYPE_CHECKING:
    from facemotion.inference.recognizer import Recognizer

__all__ = ["create_app", "app_from_env", "lifespan", "static_dir", "model_label"]

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start loading the model in the background when none was given (``/readyz`` answers 503 until it is done);
    at shut-down, stop the inference threads."""
    recognizers: Recognizers = app.state.recognizers
    if not recognizers.ready:
        def load() -> None:
            try:
                recognizers.load_default()
            except Exception:
                logger.exception("cannot load the model; /readyz answers 503")

        threading.Thread(target=load, name="facemotion-load", daemon=True).start()
    logger.info("serving with %s", app.state.settings.public())
    try:
        yield
    finally:
        app.state.limiter.shutdown()


def create_app(recognizer: Recognizer | None = None, *, settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI app around one shared Recognizer.

    Args:
        recognizer: the start-up Recognizer (the CLI builds it first, so a bad model fails before the port opens);
            None loads ``settings.model``/``settings.detector`` in the background at start-up, ``/readyz``
            answering 503 until it is done. A given Recognizer is what ``settings.model``/``detector`` name.
        settings: limits and choices; default :meth:`ServeSettings.from_env`.
    """
    settings = settings if settings is not None else ServeSettings.from_env()
    app = FastAPI(title="facemotion", version=__version__, lifespan=lifespan, redoc_url=None,
                  description="The emotion on every face in an image (the seven FER2013 labels). "
                              "`POST /v1/predict` with an image; the web page is at `/`.")
    app.state.settings = settings
    app.state.recognizers = Recognizers(settings, recognizer)
    app.state.limiter = WorkLimiter(workers=settings.workers, max_queue=settings.max_queue)
    app.state.uploads = UploadBudget(settings.capacity * settings.max_upload_bytes)
    app.state.model_files = page.model_files()
    app.state.site_manifest = {}
    add_error_handlers(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                           expose_headers=["Retry-After", "Server-Timing"], max_age=600)
    app.include_router(predict_route.router, dependencies=api_key_dependencies(settings.api_key))
    app.include_router(health.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    _openapi_with_model_labels(app)
    return app


def _openapi_with_model_labels(app: FastAPI) -> None:
    """Describe the serving model's labels in ``/openapi.json``, once the model is loaded (FastAPI caches the
    document only after that, so a request during loading does not freeze the FER2013 description)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        app.openapi_schema = None  # FastAPI cached it; keep it only once relabelled
        recognizers: Recognizers = app.state.recognizers
        if not recognizers.ready:
            return schema
        app.openapi_schema = relabel_openapi(schema, recognizers.get().labels)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """``uvicorn --factory facemotion.serving.app:app_from_env``: settings from ``FACEMOTION_*`` variables."""
    return create_app(settings=ServeSettings.from_env())
