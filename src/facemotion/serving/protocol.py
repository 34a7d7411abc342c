"""uvicorn's HTTP/1.1 protocol with a header timeout, and the uvicorn options ``facemotion serve`` runs with.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but cancels that timer at the first byte
received and has no limit on how long the request line and headers may take: a client sending one header byte a
second keeps its connection (a socket, a file descriptor, a buffer) for as long as it likes, and a few thousand such
clients exhaust the server without sending a single request (slowloris). Here a connection must have sent a
complete request head within ``header_timeout_s`` of opening, or of its previous answer; past that it gets a
``408`` and is closed. Bodies are bounded by the request timeout in the app (:mod:`facemotion.serving.app`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from facemotion.serving.settings import ServeSettings

__all__ = ["HeaderTimeoutProtocol", "protocol_with_header_timeout", "uvicorn_options"]

logger = logging.getLogger(__name__)


class HeaderTimeoutProtocol(H11Protocol):
    """:class:`H11Protocol` that answers 408 and closes a connection whose request head is not complete in time.

    As ``uvicorn --http facemotion.serving.protocol:HeaderTimeoutProtocol`` it uses the default of
    :class:`ServeSettings`; :func:`protocol_with_header_timeout` makes one with another limit.
    """

    header_timeout_s: float = ServeSettings.header_timeout_s
    linger_s: float = 1.0
    """After the 408, how long the connection still reads (and drops) what the client sends before it closes: a
    socket closed with unread bytes, or sent more after closing, answers with a reset, and a reset can discard the
    408 on the client's side before the client has read it."""

    _header_timer: asyncio.TimerHandle | None = None
    _lingering: bool = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # before: the parent may parse a pipelined request head at once
        super().on_response_complete()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request head was parsed: its body and answer are the app's to time
            self._cancel_header_timer()

    def data_received(self, data: bytes) -> None:
        if not self._lingering:  # after the 408, the rest of the head is dropped unread
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        peer = "%s:%d" % self.client if self.client else "a client"
        logger.info("closed the connection from %s: no complete request head within %g s", peer,
                    self.header_timeout_s)
        body = json.dumps({"error": f"the request headers did not arrive within {self.header_timeout_s:g} s"})
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                             b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body.encode()))
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the 408, then the end of the stream
        self.loop.call_later(self.linger_s, self.transport.close)


def protocol_with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """A :class:`HeaderTimeoutProtocol` class with this limit (uvicorn takes a class, and builds one per connection)."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": float(seconds)})


def uvicorn_options(settings: ServeSettings) -> dict[str, Any]:
    """The ``uvicorn.run`` keyword arguments for these settings, besides host, port and log level."""
    return {"http": protocol_with_header_timeout(settings.header_timeout_s), "server_header": False,
            "timeout_graceful_shutdown": max(1, int(settings.timeout_s))}
