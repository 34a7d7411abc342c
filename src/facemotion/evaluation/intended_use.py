"""The model card's intended-use section: what a model is for, what it is not for, the data's limits, and its
measured per-class weaknesses, recomputed from the card's own figures whenever metrics are recorded in it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from facemotion.data.splits import SPLIT_TO_USAGE

__all__ = ["INTENDED_USE_KEY", "FER2013_LIMITS", "intended_use", "with_intended_use", "class_weaknesses"]

INTENDED_USE_KEY = "intended_use"
"""The card's key for this section; a tool that rewrites a card (re-export, heatmap graph) must carry it over."""

INTENDED_FOR: tuple[str, ...] = (
    "Reading the facial expression on faces in photos and video frames as one of the card's output labels, with "
    "a probability for each, where people look at the results: research on expressions, media and user-experience "
    "studies with the informed consent of the people filmed, accessibility aids, games and demonstrations.",
    "Aggregates over many faces or frames rather than single verdicts: one face is misread often (see the "
    "measured weaknesses below).",
)

NOT_FOR: tuple[str, ...] = (
    "Inferring what a person feels. The model reads a facial expression, not an inner emotional state: the same "
    "feeling shows differently across people, cultures and situations, expressions can be posed or masked, and a "
    "smile is not happiness.",
    "Emotion recognition in the workplace or in education: prohibited in the EU by the AI Act (Regulation (EU) "
    "2024/1689, Article 5(1)(f)) except for medical or safety reasons. Any other emotion recognition system used "
    "in the EU is high-risk (Annex III, point 1(c)), and the people exposed to it must be told (Article 50(3)).",
    "Decisions about individuals: hiring, grading, credit, insurance, policing, border control, lie or deception "
    "detection, or a medical or psychological diagnosis.",
    "Identifying or tracking who someone is: the model knows nothing of identity.",
)

FER2013_LIMITS: tuple[str, ...] = (
    "Trained on FER2013 (Goodfellow et al., 2013): 35,887 web-search faces, 48x48 grayscale, one label each. The "
    "labels are noisy: human accuracy on the data set is about 65 %, a re-labelling by ten annotators per image "
    "(FER+, Barsoum et al., 2016) changed many of them, and a few images are not faces at all.",
    "Imbalanced: disgust has 436 of the 28,709 training images (1.5 %), happy 7,215 (25 %); rare classes are "
    "learned and measured less reliably.",
    "No demographic annotations: age, gender and skin tone were not recorded, studies that annotated the faces "
    "report the data set skewed in all three, and this model's accuracy per group has not been measured. Expect "
    "it to be worse for children, older adults and groups that are rare in web photographs.",
    "Mostly frontal, well-lit, unoccluded and often posed or exaggerated expressions: profile views, masks, "
    "hands, glasses, low light, low resolution and subtle everyday expressions are read less reliably.",
)

_PREFERRED = ("test", "val")  # PrivateTest (reported once) first; PublicTest where the test split is not scored yet


def class_weaknesses(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Classes whose F1 is below the macro-F1, worst first, each with its recall's standard error and the class
    its faces are most often read as (from the confusion matrix)."""
    per_class = metrics["per_class"]
    names = list(metrics.get("labels") or per_class)
    matrix = metrics.get("confusion_matrix")
    macro = sum(per_class[c]["f1"] for c in names) / len(names)
    weak = []
    for i, name in enumerate(names):
        figures = per_class[name]
        if figures["f1"] >= macro:
            continue
        recall, support = figures["recall"], int(figures["support"])
        entry: dict[str, Any] = {"class": name, "f1": round(figures["f1"], 4),
                                 "precision": round(figures["precision"], 4), "recall": round(recall, 4),
                                 "support": support,
                                 "recall_standard_error": round(math.sqrt(recall * (1 - recall) / support), 4)
                                 if support else None}
        if matrix is not None and support:
            row = [(count, j) for j, count in enumerate(matrix[i]) if j != i]
            count, j = max(row)
            entry.update(most_confused_with=names[j], confused_share=round(count / support, 4))
        weak.append(entry)
    return sorted(weak, key=lambda e: e["f1"])


def _summary(weak: list[dict[str, Any]], metrics: Mapping[str, Any], split: str) -> str:
    if not weak:
        return f"No class falls below the macro-F1 on {split}."
    parts = []
    for e in weak:
        text = (f"{e['class']} (F1 {100 * e['f1']:.1f} %, recall {100 * e['recall']:.1f} "
                f"+- {100 * (e['recall_standard_error'] or 0):.1f} % over {e['support']} faces")
        if "most_confused_with" in e:
            text += f"; {100 * e['confused_share']:.1f} % of them read as {e['most_confused_with']}"
        parts.append(text + ")")
    return (f"On {split} ({metrics.get('images', '?')} faces, accuracy {100 * metrics['accuracy']:.1f} %, macro-F1 "
            f"{100 * metrics['macro_f1']:.1f} %), below the macro-F1: " + "; ".join(parts) + ".")


def intended_use(card: Mapping[str, Any], *, data_limits: tuple[str, ...] = FER2013_LIMITS) -> dict[str, Any]:
    """The section for ``card``: fixed guidance plus weaknesses computed from ``card['metrics']`` (PrivateTest,
    else PublicTest); before any metrics are recorded the weaknesses say so."""
    metrics = card.get("metrics") or {}
    split = next((s for s in _PREFERRED if isinstance(metrics.get(s), Mapping) and metrics[s].get("per_class")), None)
    if split is None:
        weaknesses: dict[str, Any] = {"measured_on": None, "classes": [],
                                      "summary": "Not measured yet: `facemotion evaluate --card` records the "
                                                 "figures this is computed from."}
    else:
        label = SPLIT_TO_USAGE[split]
        weak = class_weaknesses(metrics[split])
        weaknesses = {"measured_on": label, "classes": weak, "summary": _summary(weak, metrics[split], label)}
    return {"intended_for": list(INTENDED_FOR), "not_for": list(NOT_FOR), "data_limits": list(data_limits),
            "measured_weaknesses": weaknesses}


def with_intended_use(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` with its intended-use section (re)computed in place, its other keys and their order untouched."""
    card[INTENDED_USE_KEY] = intended_use(card)
    return card
