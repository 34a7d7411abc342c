"""The service's shared state, handed to routes as FastAPI dependencies that read ``request.app.state``.

:func:`~facemotion.serving.app.create_app` puts one of each on ``app.state``; routes declare what they use
(``settings: SettingsDep``), and a test swaps any of them with ``app.dependency_overrides[get_limiter] = ...``.
These read no request data, so they add nothing to the OpenAPI document; they are ``async`` so that FastAPI calls them
on the event loop (a plain function would be sent to the thread pool, a hop per dependency per request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from facemotion.serving.limits import UploadBudget, WorkLimiter
from facemotion.serving.recognizers import Recognizers
from facemotion.serving.settings import ServeSettings

__all__ = ["get_settings", "get_recognizers", "get_limiter", "get_uploads", "retry_after",
           "SettingsDep", "RecognizersDep", "LimiterDep", "UploadsDep"]


async def get_settings(request: Request) -> ServeSettings:
    """The service's limits and choices."""
    return request.app.state.settings


async def get_recognizers(request: Request) -> Recognizers:
    """The start-up Recognizer and those built for other model/detector choices."""
    return request.app.state.recognizers


async def get_limiter(request: Request) -> WorkLimiter:
    """The inference slots: workers plus queue."""
    return request.app.state.limiter


async def get_uploads(request: Request) -> UploadBudget:
    """The bytes all uploads under way may hold together."""
    return request.app.state.uploads


def retry_after(settings: ServeSettings) -> dict[str, str]:
    """The ``Retry-After`` header of every 503."""
    return {"Retry-After": str(settings.retry_after_s)}


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
RecognizersDep = Annotated[Recognizers, Depends(get_recognizers)]
LimiterDep = Annotated[WorkLimiter, Depends(get_limiter)]
UploadsDep = Annotated[UploadBudget, Depends(get_uploads)]
