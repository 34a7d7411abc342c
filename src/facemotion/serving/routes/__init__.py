"""The service's routes, one router per concern: :mod:`.predict` (``/v1/predict``), :mod:`.health` (``/healthz``,
``/readyz``) and :mod:`.page` (the web page and its private mode)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

__all__ = ["allow_head"]


def allow_head(router: APIRouter, path: str, endpoint: Any) -> None:
    """Answer ``HEAD path`` like ``GET path`` (the server sends no body), kept out of the schema."""
    router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
