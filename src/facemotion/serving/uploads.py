"""Getting the image bytes out of a request: a multipart field ``image`` or the raw body, with a byte limit.

The body is read here, chunk by chunk, and refused with 413 as soon as it passes the limit, so an oversized
upload never sits whole in memory; a declared ``Content-Length`` over the limit is refused before a byte is read.
A raw body declared as something other than an image is refused with 415 before it is read. Every chunk is taken
from the service's :class:`~facemotion.serving.limits.UploadBudget` as it arrives (503 when the budget is spent), and
a client that closes the connection mid-upload ends the request with
:class:`~facemotion.serving.errors.ClientGone`, one log line, no traceback.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from facemotion.serving.errors import ClientGone, ServiceError

__all__ = ["check_declared_size", "read_image", "media_type"]

RAW_TYPES = ("application/octet-stream",)
"""Media types accepted as a raw image body besides ``image/*`` (and an absent Content-Type)."""


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
    """The body, built in one buffer as it arrives: ``getvalue`` hands that buffer over without a copy, so the
    body is held once (plus the buffer's growth slack), never as a list of chunks and their joined copy too."""
    buffer, size = io.BytesIO(), 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            take(len(chunk))
            buffer.write(chunk)
    except ClientDisconnect:
        raise ClientGone(size) from None
    return buffer.getvalue()


MAX_FILES, MAX_FIELDS = 4, 16
"""The most file parts and text fields a multipart upload may have."""


def _multipart_image(body: bytes, content_type: str, take: Callable[[int], None]) -> tuple[bytes, str | None]:
    """The file field ``image`` of a multipart body, parsed from the bytes already held, in one pass.

    The part's bytes are copied out of ``body`` once (``take`` is charged for them first); nothing is spooled and
    no other part is kept: only the names of the fields, for the error message.
    """
    try:
        from python_multipart.exceptions import FormParserError
        from python_multipart.multipart import MultipartParser, parse_options_header
    except ModuleNotFoundError:  # python-multipart before 0.0.13
        from multipart.exceptions import FormParserError  # type: ignore[no-redef]
        from multipart.multipart import MultipartParser, parse_options_header  # type: ignore[no-redef]

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ServiceError(400, "malformed multipart upload: its Content-Type names no boundary")
    names: list[str] = []
    files = fields = 0
    header = {"name": b"", "value": b"", "disposition": b""}
    current: dict[str, object] = {}
    image: dict[str, object] | None = None

    def on_part_begin() -> None:
        header["disposition"] = b""
        current.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        if header["name"].strip().lower() == b"content-disposition":
            header["disposition"] = header["value"]
        header["name"] = header["value"] = b""

    def on_headers_finished() -> None:
        nonlocal files, fields
        _, options = parse_options_header(header["disposition"])
        if b"name" not in options:
            raise ServiceError(400, "malformed multipart upload: a part's Content-Disposition has no name")
        name = options[b"name"].decode("utf-8", "replace")
        is_file = b"filename" in options
        files, fields = files + is_file, fields + (not is_file)
        if files > MAX_FILES or fields > MAX_FIELDS:
            raise ServiceError(400, f"the multipart upload has more than {MAX_FILES} files or {MAX_FIELDS} fields")
        names.append(name)
        current.update(name=name, filename=options[b"filename"].decode("utf-8", "replace") if is_file else None,
                       pieces=[])

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if current.get("name") == "image":  # a slice of body is kept as offsets; the parser's lookbehind is copied
            current["pieces"].append((start, end) if data is body else bytes(data[start:end]))  # type: ignore[union-attr]

    def on_part_end() -> None:
        nonlocal image
        if current.get("name") == "image":
            image = dict(current)

    callbacks = {"on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
                 "on_header_field": on_header_field, "on_header_value": on_header_value,
                 "on_header_end": on_header_end, "on_headers_finished": on_headers_finished}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ServiceError(400, f"malformed multipart upload ({exc})") from None
    if image is None:
        raise ServiceError(400, f"the multipart upload has no field 'image' (fields: "
                                f"{', '.join(sorted(set(names))) or 'none'})")
    if image["filename"] is None:
        raise ServiceError(400, "the multipart field 'image' must be a file, got a text value")
    pieces = image["pieces"]
    take(sum(p[1] - p[0] if isinstance(p, tuple) else len(p) for p in pieces))  # type: ignore[union-attr]
    data = b"".join(body[p[0]:p[1]] if isinstance(p, tuple) else p for p in pieces)  # type: ignore[union-attr]
    return data, str(image["filename"]) or None


async def read_image(request: Request, limit: int, take: Callable[[int], None],
                     give: Callable[[int], None] | None = None) -> tuple[bytes, str | None]:
    """The uploaded image's bytes and its file name (None for a raw body or a nameless part).

    ``take(n)`` is called for every ``n`` bytes held, before they are kept (the upload budget); it may raise. A
    multipart body is held whole while its ``image`` part is copied out (both are taken), then dropped: ``give``
    (when given) gets the body's bytes back then, so the budget holds what is still in memory.

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
    size = len(body)
    data, name = _multipart_image(body, request.headers.get("content-type", ""), take)
    del body  # the only reference: the request's stream keeps no copy
    if give is not None:
        give(size)
    if not data:
        raise ServiceError(400, f"no image: the uploaded file{' ' + repr(name) if name else ''} is empty (0 bytes)")
    return data, name
