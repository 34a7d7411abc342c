"""How the service answers when it cannot answer 200: ``{"error": "..."}`` with a fitting status, and never a server
path, a traceback or the Host header's name in what goes back to the client.

The details a client must not see (file paths, exception text) go to the server log instead, once per event: a
client that closes its connection mid-upload is one log line, not the two tracebacks the framework would print.
Slash redirects (``/static`` -> ``/static/``) are answered here too, with a relative ``Location``: the framework's
own redirect names the request's Host header, which a client chooses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

__all__ = ["ServiceError", "ClientGone", "add_error_handlers", "json_error", "redact_paths"]

logger = logging.getLogger(__name__)

CLIENT_CLOSED = 499
"""The status logged for a request whose client went away (nginx's convention); nobody receives it."""


class ServiceError(Exception):
    """An answer other than 200, turned into ``{"error": message}`` with this status and headers by the app."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class ClientGone(Exception):
    """The client closed the connection before its upload was complete: nobody is left to answer."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the client closed the connection during the upload, after {received:,} bytes")
        self.received = received


_NAME = r"[^\s\\/:;,'\"()<>\[\]{}|*?=]"  # a character of a file name (or of a relative path's first folder)
_FOLDER = r"[^\\/\r\n\t:;,'\"()<>\[\]{}|*?]"  # a character of a folder name: spaces allowed
_PATH = re.compile(rf"(?:[A-Za-z]:|~{_NAME}*|{_NAME}+)?(?:[\\/]{_FOLDER}*)*[\\/]({_NAME}+)")
"""A path: an optional drive, ``~user`` or relative first folder, then folders (``John Smith`` included), then the
file name, the only part kept. Folders may hold spaces, so two paths on one line can read as one (the later name
is kept): never a leak, at worst a shorter message."""


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body every non-200 answer has."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def redact_paths(message: str, known: Iterable[str | None] = ()) -> str:
    """``message`` with every file path replaced by its file name: the ``known`` paths exactly, then anything with a
    path separator (``/srv/models/x.onnx``, ``/home/John Smith/x.onnx``, ``~/secret/x.onnx``, ``models/x.onnx``,
    ``C:\\Users\\x.onnx`` -> ``x.onnx``)."""
    for path in sorted({p for p in known if p}, key=len, reverse=True):
        message = message.replace(path, re.split(r"[\\/]", path.rstrip("\\/"))[-1])
    return _PATH.sub(lambda match: match.group(1), message)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))
        given = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
        parts.append(f"{where}: {error.get('msg', 'invalid')}{given}")
    return "; ".join(parts) or "invalid request"


def _matches(routes: Iterable[BaseRoute], scope: Scope) -> bool:
    return any(route.matches(scope)[0] is not Match.NONE for route in routes)


def _slash_redirect(request: Request) -> RedirectResponse | None:
    """A relative redirect to the same path with its trailing slash added or removed, if a route matches that."""
    path = request.scope["path"]
    if request.method not in ("GET", "HEAD") or path == "/" or path.startswith("//"):
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    if not other or other.startswith("//"):  # "//host/..." would be another site
        return None
    routes = request.app.router.routes
    if _matches(routes, request.scope) or not _matches(routes, {**request.scope, "path": other}):
        return None  # a 404 from inside a route (a missing static file) is a 404, as is a path nothing serves
    query = request.scope.get("query_string", b"").decode("latin-1")
    location = request.scope.get("root_path", "") + other + (f"?{query}" if query else "")
    return RedirectResponse(location, status_code=307)


def add_error_handlers(app: FastAPI) -> None:
    """Route every failure of ``app`` to a JSON error, and trailing-slash misses to relative redirects."""
    app.router.redirect_slashes = False  # its redirects are absolute URLs built from the Host header

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return json_error(exc.status, exc.message, exc.headers)

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, exc: ClientGone) -> Response:
        client = request.client.host if request.client else "a client"
        logger.info("%s %s from %s: %s", request.method, request.url.path, client, exc)
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        redirect = _slash_redirect(request) if exc.status_code == 404 else None
        if redirect is not None:
            return redirect
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return json_error(422, _validation_message(exc))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_error(500, "internal server error")
