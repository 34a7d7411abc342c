"""Pydantic models of the service's JSON, for the OpenAPI page and for clients that generate code from it.

They describe, and do not produce, the response: the body is :meth:`facemotion.types.ImageResult.to_dict` (the same
JSON as ``Recognizer.predict`` and ``facemotion predict``) plus ``model``, ``detector`` and ``timing_ms``. Every model
forbids extra keys, so the tests that validate real responses against them fail as soon as ``to_dict`` and these
models drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from facemotion.labels import EMOTIONS

__all__ = ["BoxModel", "LandmarksModel", "Probabilities", "TopKEntry", "FaceModel", "Timing", "PredictResponse",
           "ErrorResponse", "HealthResponse", "ReadyResponse", "error_response", "relabel_openapi"]

_STRICT = ConfigDict(extra="forbid")

Emotion = Literal[EMOTIONS]  # type: ignore[valid-type]  # the seven labels, from the one list; see relabel_openapi


class BoxModel(BaseModel):
    """A face box in pixels of the upright image: top-left corner, width, height."""

    model_config = _STRICT
    x: int
    y: int
    w: int = Field(ge=0)
    h: int = Field(ge=0)


class LandmarksModel(BaseModel):
    """YuNet's five points ``[x, y]``; "right"/"left" are the person's own sides."""

    model_config = _STRICT
    right_eye: tuple[float, float]
    left_eye: tuple[float, float]
    nose: tuple[float, float]
    mouth_right: tuple[float, float]
    mouth_left: tuple[float, float]


_PROBABILITY_FIELDS: dict[str, Any] = {name: (float, Field(ge=0.0, le=1.0)) for name in EMOTIONS}
Probabilities = create_model(
    "Probabilities",
    __config__=_STRICT,
    __doc__="The probability of each of the seven FER2013 emotions, in label order; they sum to 1.",
    **_PROBABILITY_FIELDS,
)


class TopKEntry(BaseModel):
    """One of the ``top_k`` most probable emotions."""

    model_config = _STRICT
    emotion: Emotion
    probability: float = Field(ge=0.0, le=1.0)


class HeatmapModel(BaseModel):
    """Where the model read the emotion: :meth:`facemotion.types.Heatmap.to_dict`."""

    model_config = _STRICT
    size: list[int] = Field(description="the grid's [height, width], e.g. [6, 6]")
    matrix: list[list[float]] = Field(
        description="2x3 affine from grid coordinates (corners at 0 and width/height) to photo pixels (pixel i "
                    "spans [i, i+1)); it holds the crop's position, scale and rotation: a canvas setTransform")
    maps: dict[str, list[list[float]]] = Field(
        description="per label, the grid's rows top to bottom in logit units: positive cells raised the label, "
                    "negative ones lowered it; their mean is the label's logit")


class FaceModel(BaseModel):
    """One face: :meth:`facemotion.types.FaceResult.to_dict`."""

    model_config = _STRICT
    box: BoxModel
    detection_score: float | None = Field(description="YuNet's confidence in [0, 1]; null for haar, none")
    landmarks: LandmarksModel | None = Field(description="null unless the detector gives landmarks (YuNet)")
    emotion: Emotion = Field(description="the most probable emotion")
    confidence: float = Field(ge=0.0, le=1.0, description="its probability")
    probabilities: Probabilities  # type: ignore[valid-type]
    top_k: list[TopKEntry] | None = Field(
        default=None, description="the top_k most probable emotions, best first; present only when top_k > 1")
    heatmap: HeatmapModel | None = Field(default=None, description="present only with explain")


class Timing(BaseModel):
    """Where the time of the request went, in milliseconds."""

    model_config = _STRICT
    queue: float = Field(description="admitted, waiting for a worker thread")
    decode: float = Field(description="decoding the image")
    inference: float = Field(description="detection, alignment and classification")
    total: float = Field(description="from admission to the response, upload included")


class PredictResponse(BaseModel):
    """The faces of one image, best detection first; ``faces`` is ``[]`` when there is none."""

    model_config = _STRICT
    path: str | None = Field(description="the uploaded file's name when the client gave one, else null")
    width: int = Field(description="image width in pixels, after EXIF rotation")
    height: int = Field(description="image height in pixels, after EXIF rotation")
    faces: list[FaceModel]
    error: None = Field(default=None, description="always null here; errors answer with an error status")
    model: str = Field(description="the classifier used")
    detector: str = Field(description="the face detector used (auto resolved to yunet or haar)")
    timing_ms: Timing


class ErrorResponse(BaseModel):
    """Every error, whatever its status: one sentence saying what was wrong."""

    model_config = _STRICT
    error: str


class HealthResponse(BaseModel):
    """The process is up and answering."""

    model_config = _STRICT
    status: Literal["ok"]


class ReadyResponse(BaseModel):
    """The start-up model and detector are loaded: requests will be served."""

    model_config = _STRICT
    status: Literal["ready"]
    model: str
    detector: str
    workers: int
    capacity: int
    in_flight: int


def error_response(description: str) -> dict[str, Any]:
    """A route's ``responses`` entry for one error status: the :class:`ErrorResponse` body, and when it is sent."""
    return {"model": ErrorResponse, "description": description}


def relabel_openapi(schema: dict[str, Any], labels: Sequence[str]) -> dict[str, Any]:
    """The OpenAPI document for a model with other labels than FER2013's: ``Probabilities`` gets one property per
    label and every emotion enum lists them (the models above describe a FER2013 model; the body itself always
    carries the serving model's labels)."""
    labels = list(labels)
    if labels == list(EMOTIONS):
        return schema

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("enum") == list(EMOTIONS):
                node["enum"] = labels
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    probabilities = schema.get("components", {}).get("schemas", {}).get("Probabilities")
    if probabilities is not None:
        template = next(iter(probabilities["properties"].values()))
        probabilities["properties"] = {name: {**template, "title": name.replace("_", " ").title()} for name in labels}
        probabilities["required"] = labels
        probabilities["description"] = "The probability of each of the model's labels, in label order; they sum to 1."
    return schema
