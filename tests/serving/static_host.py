"""A plain static file server on loopback (the standard library's), recording every request it gets.

What "any static host" means for ``facemotion export-web``: no facemotion code answers, so a page served by it
that recognises faces did so in the browser. Shared by the private-mode browser test and ``benchmarks/bench_web.py``.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

__all__ = ["StaticHost"]


class StaticHost:
    """``python -m http.server``-alike for ``root`` on 127.0.0.1 in a thread; ``requests`` lists paths asked for.

    Paths in ``broken`` answer 404, to stand for a model file that fails to download.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.requests: list[str] = []
        self.broken: set[str] = set()
        host = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                host.requests.append(f"GET {self.path}")
                if self.path.split("?")[0] in host.broken:
                    self.send_error(404, "broken on purpose")
                    return
                super().do_GET()

            def do_POST(self) -> None:  # noqa: N802
                host.requests.append(f"POST {self.path}")
                self.send_error(405, "a static host takes no uploads")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(self.root)))
        self._thread = threading.Thread(target=self._server.serve_forever, name="static-host", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StaticHost:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
