"""``POST /v1/predict``: read the upload, admit or refuse it, run decoding and inference on a worker thread.

The upload is read whole before a worker slot is taken, so a slow client holds its connection only; every failure
becomes a :class:`~facemotion.serving.errors.ServiceError` with a fitting status (the app's handlers answer it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from facemotion.defaults import DETECTORS
from facemotion.errors import FacemotionError, ModelError, NoHeatmapsError
from facemotion.inference.weights import PACKAGED_MODELS
from facemotion.labels import MAX_TOP_K
from facemotion.serving.deps import LimiterDep, RecognizersDep, SettingsDep, UploadsDep, retry_after
from facemotion.serving.errors import ServiceError
from facemotion.serving.limits import Saturated
from facemotion.serving.recognizers import ChoiceUnavailable, Recognizers, model_label
from facemotion.serving.schemas import PredictResponse, error_response
from facemotion.serving.uploads import check_declared_size, read_image

if TYPE_CHECKING:
    from facemotion.inference.explain import Explain

__all__ = ["router", "parse_explain"]

logger = logging.getLogger(__name__)

router = APIRouter()
"""The app includes it with the API-key dependency when the server has a key."""

ModelChoice = Literal[PACKAGED_MODELS]  # type: ignore[valid-type]
DetectorChoice = Literal[DETECTORS]  # type: ignore[valid-type]

_BINARY = {"type": "string", "format": "binary"}
_REQUEST_BODY = {"requestBody": {"required": True, "description": (
    "The image (JPEG, PNG, WebP, BMP, TIFF, GIF...): a multipart/form-data file field `image`, or the encoded image "
    "itself as the body."), "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {"image": _BINARY}}},
        "image/*": {"schema": _BINARY},
        "application/octet-stream": {"schema": _BINARY}}}}

_PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_response("not an image, a corrupt or truncated image, over the pixel limit, empty, or no `image` "
                        "field"),
    401: error_response("the server has an API key and the request did not give it"),
    408: error_response("the upload did not arrive within the request timeout"),
    413: error_response("the upload is larger than the byte limit"),
    415: error_response("the body is declared as something other than an image"),
    422: error_response("a query option has an unknown value"),
    503: error_response("every worker and queue slot is taken, the uploads under way hold the upload memory budget, "
                        "or the model is still loading: see Retry-After"),
    504: error_response("inference did not finish within the request timeout"),
}


def parse_explain(value: str | None, labels: Sequence[str] | None = None) -> Explain:
    """The ``explain`` query: absent/false -> no heatmaps, true/top -> top label, all, or comma-separated labels.

    ``labels``, the serving model's label names when known, refuses unknown names before the upload is read (the
    Recognizer checks them again against the model a request picks).
    """
    from facemotion.inference.explain import explain_labels

    text = (value or "").strip()
    if text.lower() in ("", "false", "0", "no"):
        return False
    lowered = text.lower()
    explain: Explain = True if lowered in ("true", "1", "yes", "top") else "all" if lowered == "all" else [
        name.strip() for name in text.split(",") if name.strip()]
    if labels is not None:
        explain = _label_case(explain, labels)
        explain_labels(explain, labels)
    return explain


def _label_case(explain: Explain, labels: Sequence[str]) -> Explain:
    """Query names matched to the model's labels regardless of case (``HAPPY`` is ``happy``)."""
    if isinstance(explain, (bool, str)):
        return explain
    by_lower = {label.lower(): label for label in labels}
    return [name if name in labels else by_lower.get(name.lower(), name) for name in explain]


def _infer(recognizers: Recognizers, data: bytes, name: str | None, model: str | None, detector: str | None,
           top_k: int, submitted: float, explain: Explain = False) -> tuple[dict[str, Any], dict[str, float]]:
    """Runs on a worker thread: pick the Recognizer, decode, detect and classify; the JSON body and timings."""
    from facemotion.inference.images import load_image
    from facemotion.types import ImageResult

    started = time.perf_counter()
    recognizer = recognizers.get(model, detector)
    explain = _label_case(explain, recognizer.labels)
    bgr = load_image(data, max_pixels=recognizers.settings.max_pixels)
    decoded = time.perf_counter()
    faces = recognizer.predict(bgr, explain=explain)
    done = time.perf_counter()
    body = ImageResult(name, tuple(faces), width=int(bgr.shape[1]), height=int(bgr.shape[0])).to_dict(top_k=top_k)
    body["model"] = model or model_label(recognizers.settings.model)
    body["detector"] = recognizer.detector.name
    timing = {"queue": started - submitted, "decode": decoded - started, "inference": done - decoded}
    return body, timing


def _inference_failure(request: Request, exc: Exception) -> ServiceError:
    """The answer to a failed inference job; what names server files goes to the log only."""
    where = f"{request.method} {request.url.path}"
    if isinstance(exc, ChoiceUnavailable):
        logger.warning("%s: %s", where, exc.reason)
        return ServiceError(400, str(exc))
    if isinstance(exc, NoHeatmapsError):  # explain with a model exported before heatmaps existed
        logger.warning("%s: %s", where, exc)
        return ServiceError(400, "this model gives no heatmaps (exported before they existed); the operator can "
                                 "re-export it: facemotion export --model MODEL.onnx --out NEW.onnx")
    if isinstance(exc, ModelError):  # the model itself failed
        logger.error("%s: the model failed: %s", where, exc)
        return ServiceError(500, "the model failed on this request; the server log says why")
    if isinstance(exc, FacemotionError):  # ImageError: a bad upload, described to its sender
        return ServiceError(400, str(exc))
    logger.error("inference failed", exc_info=exc)
    return ServiceError(500, "internal server error: inference failed")


@router.post("/v1/predict", response_model=None, openapi_extra=_REQUEST_BODY,
             responses={200: {"model": PredictResponse, "description": "the faces found"}, **_PREDICT_ERRORS},
             summary="The emotion of every face in one image")
async def predict(
    request: Request,
    settings: SettingsDep,
    recognizers: RecognizersDep,
    limiter: LimiterDep,
    uploads: UploadsDep,
    detector: DetectorChoice | None = Query(None, description="face detector; default: the server's"),
    model: ModelChoice | None = Query(None, description="packaged classifier; default: the server's"),
    top_k: int = Query(1, ge=1, le=MAX_TOP_K, description="list the k most probable emotions per face (k > 1; at "
                                                                 "most the model's label count are listed)"),
    explain: str | None = Query(None, description="heatmaps of where each face's emotion was read: true (its "
                                                  "top label), all, or comma-separated label names")
) -> JSONResponse:
    """Detect the faces in the image and classify each into the seven FER2013 emotions."""
    start = time.perf_counter()
    try:
        wanted = parse_explain(explain, recognizers.get().labels if recognizers.ready and model is None else None)
    except FacemotionError as exc:
        raise ServiceError(400, str(exc)) from None
    deadline = start + settings.timeout_s
    check_declared_size(request, settings.max_upload_bytes)
    if not recognizers.ready:
        raise ServiceError(503, recognizers.error or "the model is still loading", retry_after(settings))
    busy = ServiceError(503, f"busy: {limiter.capacity} requests are in flight; retry in "
                             f"{settings.retry_after_s} s", retry_after(settings))
    if limiter.saturated:  # refuse before reading a byte of the upload
        raise busy
    with uploads.hold() as held:
        try:  # read whole before taking a slot: a slow upload holds its connection only, never a worker
            data, name = await asyncio.wait_for(read_image(request, settings.max_upload_bytes, held.take, held.give),
                                                timeout=deadline - time.perf_counter())
        except asyncio.TimeoutError:
            raise ServiceError(408, f"the upload did not arrive within {settings.timeout_s:g} s") from None
        except Saturated:
            raise ServiceError(503, f"busy: uploads under way hold {uploads.limit:,} bytes; retry in "
                                    f"{settings.retry_after_s} s", retry_after(settings)) from None
        try:
            slot = limiter.admit()
        except Saturated:
            raise busy from None
        held.until_done(slot)  # the pool thread holds the upload until its job ends, even after a 504
        with slot:
            try:
                body, timing = await asyncio.wait_for(
                    slot.run(_infer, recognizers, data, name, model, detector, top_k, time.perf_counter(), wanted),
                    timeout=max(deadline - time.perf_counter(), 0.0))
            except asyncio.TimeoutError:
                raise ServiceError(504, f"the request took longer than {settings.timeout_s:g} s") from None
            except Exception as exc:
                raise _inference_failure(request, exc) from None
    timing["total"] = time.perf_counter() - start
    body["timing_ms"] = {k: round(v * 1000.0, 2) for k, v in timing.items()}
    server_timing = ", ".join(f"{k};dur={v}" for k, v in body["timing_ms"].items())
    return JSONResponse(body, headers={"Server-Timing": server_timing})
