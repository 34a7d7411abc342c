"""evaluate(): one way to score any classifier on a split of FER2013 or of your own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facemotion.data import data_form, load_dataset
from facemotion.errors import FacemotionError
from facemotion.evaluation.report import EvaluationReport, build_report
from facemotion.evaluation.tta import predict_with_tta
from facemotion.inference.backends import Classifier, classifier_labels, load_classifier

__all__ = ["evaluate", "training_reading"]

_READING_KEYS = ("faces", "val_fraction", "test_fraction", "seed")


def training_reading(weights: str | Path | Classifier, classifier: Classifier) -> dict[str, Any]:
    """How the model's own training read its data (faces mode, split fractions, seed), from its checkpoint or model
    card, so that its val and test splits are drawn again exactly; ``{}`` when the model does not say."""
    config = (getattr(classifier, "info", None) or {}).get("config")
    if config is None and not isinstance(weights, Classifier):
        from facemotion.inference.weights import model_card

        card = model_card(weights)
        training = card.get("training") or (card.get("members") or [{}])[0].get("training") or {}
        config = training.get("config")
    return {k: config[k] for k in _READING_KEYS if k in (config or {})}


def evaluate(weights: str | Path | Classifier, data: str | Path, *, split: str = "test", tta: str = "none",
             limit: int = 0, faces: str | None = None) -> EvaluationReport:
    """Score ``weights`` (packaged name, .onnx, .pt, or a Classifier) on ``split`` of the data at ``data``.

    Your own data is read with the model's label order and as the model's training read it (faces mode, the seeded
    split; ``faces`` overrides the mode), so ``val`` and ``test`` are the images the run held out. ``limit`` scores
    only the first N images of the split (a fixed sample, for quick checks).
    """
    classifier = weights if isinstance(weights, Classifier) else load_classifier(weights)
    names = classifier_labels(classifier)
    if data_form(Path(data)) == "fer2013":
        dataset = load_dataset(data)
        if dataset.label_names != names:
            raise FacemotionError(f"{data} is FER2013 (labels {', '.join(dataset.label_names)}); the model's labels "
                                  f"are {', '.join(names)}")
    else:
        from facemotion.inference.face_crops import face_decoder

        reading = training_reading(weights, classifier)
        dataset = load_dataset(data, decode=face_decoder(faces or reading.pop("faces", "given")), labels=names,
                               **{k: v for k, v in reading.items() if k != "faces"})
    part = dataset.split(split)
    if len(part) == 0:
        raise FacemotionError(f"{data}: the {split} split has no images")
    images, labels = part.images, part.labels
    if limit:
        images, labels = images[:limit], labels[:limit]
    probabilities = predict_with_tta(classifier, images, tta)
    name = weights if not isinstance(weights, Classifier) else type(weights).__name__
    return build_report(np.asarray(probabilities), labels,
                        {"weights": str(name), "data": str(data), "split": split, "tta": tta}, names)
