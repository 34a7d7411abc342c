"""``/healthz`` (the process answers) and ``/readyz`` (the start-up model is loaded), each answering HEAD too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facemotion.serving.deps import LimiterDep, RecognizersDep, SettingsDep, retry_after
from facemotion.serving.errors import json_error
from facemotion.serving.recognizers import model_label
from facemotion.serving.routes import allow_head
from facemotion.serving.schemas import HealthResponse, ReadyResponse, error_response

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", response_model=HealthResponse, summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


allow_head(router, "/healthz", healthz)


@router.get("/readyz", response_model=ReadyResponse, summary="Readiness: the start-up model is loaded",
            responses={503: error_response("the model is loading, or failed to load (the message says why)")})
async def readyz(settings: SettingsDep, recognizers: RecognizersDep, limiter: LimiterDep) -> Any:
    if not recognizers.ready:
        return json_error(503, recognizers.error or "the model is still loading", retry_after(settings))
    return {"status": "ready", "model": model_label(settings.model), "detector": recognizers.get().detector.name,
            "workers": settings.workers, "capacity": limiter.capacity, "in_flight": limiter.in_flight}


allow_head(router, "/readyz", readyz)
