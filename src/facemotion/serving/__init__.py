"""The HTTP service and its web page (the ``serve`` extra: FastAPI, uvicorn, python-multipart).

``create_app`` is loaded on first use (PEP 562), so importing this package, or its settings, needs no web framework.
torch is never imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facemotion.serving.settings import ServeSettings

if TYPE_CHECKING:
    from facemotion.serving.app import create_app

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from facemotion.serving.app import create_app

        globals()[name] = create_app
        return create_app
    raise AttributeError(f"module 'facemotion.serving' has no attribute {name!r}")
