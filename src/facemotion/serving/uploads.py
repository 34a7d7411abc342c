"""Getting the image bytes out of a request: a multipart field ``image`` or the raw body, with a byte limit.

The body is read here, chunk by chunk, and refused with 413 as soon as it passes the limit, so an oversized
upload never sits whole in memory; a declared ``Content-Length`` over the limit is refused before a byte is read.
A raw body declared as something other than an image is refused with 415 before it is read. Every chunk is taken
from the service's :class:`~facemotion.serving.limits.UploadBudget` as it arrives (503 when the budget is spent), and
a client that closes the connection mid-upload ends the request with :class:`ClientGone`, one log line, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

__all__ = ["ServiceError", "ClientGone", "check_declared_size", "read_image"]

RAW_TYPES = ("application/octet-stream",)
"""Media types accepted as a raw image body besides ``image/*`` (and an absent Content-Type)."""


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


def _too_large(limit: int) -> ServiceError:
    return ServiceError(413, f"the upload is larger than the limit of {limit:,} bytes ({limit / 2**20:.1f} MiB)")


def check_declared_size(request: Request, limit: int) -> None:
    """413 at once when the client announces a body over the limit (nothing is read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ('' when there is no Content-Type)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int, take: Callable[[int], None]) -> bytes:
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            take(len(chunk))
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone(size) from None
    return b"".join(chunks)


async def read_image(request: Request, limit: int, take: Callable[[int], None]) -> tuple[bytes, str | None]:
    """The uploaded image's bytes and its file name (None for a raw body or a nameless part).

    ``take(n)`` is called for every ``n`` bytes read, before they are kept (the upload budget); it may raise.

    Raises:
        ClientGone: the client closed the connection before the body was complete.
        ServiceError: 413 over the limit, 415 for a body declared as a non-image, 400 for an empty upload, a
            multipart body without a file field ``image``, or a malformed multipart body.
    """
    kind = media_type(request)
    multipart = kind == "multipart/form-data"
    if not multipart and kind and not (kind.startswith("image/") or kind in RAW_TYPES):
        raise ServiceError(415, f"expected an image: a multipart/form-data upload with a file field 'image', or "
                                f"the image itself as the body (image/jpeg, image/png, ... or "
                                f"application/octet-stream); got Content-Type {kind}"
                                + (" (curl --data-binary sends this unless given -H 'Content-Type: image/jpeg')"
                                   if kind == "application/x-www-form-urlencoded" else ""))
    body = await _read_body(request, limit, take)
    if not multipart:
        if not body:
            raise ServiceError(400, "no image: the request body is empty; send the image as the body or as a "
                                    "multipart file field 'image'")
        return body, None
    sent = False

    async def replay() -> Message:  # the form parser reads the body we already hold, not the socket
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=4, max_fields=16)
    try:
        upload = form.get("image")
        if upload is None:
            fields = ", ".join(sorted(set(form.keys()))) or "none"
            raise ServiceError(400, f"the multipart upload has no field 'image' (fields: {fields})")
        if isinstance(upload, str):
            raise ServiceError(400, "the multipart field 'image' must be a file, got a text value")
        data = await upload.read()
        name = upload.filename or None
    finally:
        await form.close()
    if not data:
        raise ServiceError(400, f"no image: the uploaded file{' ' + repr(name) if name else ''} is empty (0 bytes)")
    return data, name
