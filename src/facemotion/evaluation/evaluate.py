"""evaluate(): one way to score any classifier on a FER2013 split."""

from __future__ import annotations

from pathlib import Path

from facemotion.data import load_fer2013
from facemotion.evaluation.report import EvaluationReport, build_report
from facemotion.evaluation.tta import predict_with_tta
from facemotion.inference.backends import Classifier, load_classifier

__all__ = ["evaluate"]


def evaluate(weights: str | Path | Classifier, data: str | Path, *, split: str = "test", tta: str = "none",
             limit: int = 0) -> EvaluationReport:
    """Score ``weights`` (packaged name, .onnx, .pt, or a Classifier) on ``split`` of the FER2013 at ``data``.

    ``limit`` scores only the first N images of the split (a fixed sample, for quick checks).
    """
    classifier = weights if isinstance(weights, Classifier) else load_classifier(weights)
    part = load_fer2013(data).split(split)
    images, labels = part.images, part.labels
    if limit:
        images, labels = images[:limit], labels[:limit]
    probabilities = predict_with_tta(classifier, images, tta)
    name = weights if not isinstance(weights, Classifier) else type(weights).__name__
    return build_report(probabilities, labels, {"weights": str(name), "data": str(data), "split": split, "tta": tta})
