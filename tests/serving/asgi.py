"""Calling the app as ASGI directly, with a scripted ``receive``: for clients a test client cannot play (a trickled
or abandoned upload), several at once in one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "call", "trickle", "whole", "abandon"]

Receive = Callable[[], Awaitable[dict]]


@dataclass
class Answer:
    """What the app sent: the status and the body bytes (status 0 while nothing was sent)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def scope(method: str = "POST", path: str = "/v1/predict", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP/1.1 scope from 127.0.0.1 (``Content-Type: image/png`` unless other headers are given)."""
    given = headers if headers is not None else {"content-type": "image/png"}
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in given.items())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def call(app: Any, receive: Receive, answer: Answer | None = None, **scope_args: Any) -> Answer:
    """Run one request through ``app``; ``answer`` fills in as the app sends."""
    answer = answer if answer is not None else Answer()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope(**scope_args), receive, send)
    return answer


def whole(body: bytes) -> Receive:
    """A client that sends ``body`` at once."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # waits for the response like a real client: forever
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def trickle(every_s: float, chunk: bytes = b"\x89") -> Receive:
    """A client that sends ``chunk`` every ``every_s`` seconds and never finishes."""

    async def receive() -> dict:
        await asyncio.sleep(every_s)
        return {"type": "http.request", "body": chunk, "more_body": True}

    return receive


def abandon(first: bytes) -> Receive:
    """A client that sends ``first`` and then closes the connection."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": first, "more_body": True}

    return receive
