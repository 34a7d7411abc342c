from __future__ import annotations

import copy
import json

import pytest

from facemotion.evaluation.intended_use import INTENDED_USE_KEY, class_weaknesses, intended_use, with_intended_use
from facemotion.inference.weights import PACKAGED_MODELS, packaged_dir

LABELS = ["a", "b", "c"]


def _metrics(f1: list[float], matrix: list[list[int]]) -> dict:
    per_class = {}
    for i, name in enumerate(LABELS):
        support = sum(matrix[i])
        per_class[name] = {"f1": f1[i], "precision": f1[i], "recall": matrix[i][i] / support, "support": support}
    return {"accuracy": 0.6, "macro_f1": sum(f1) / 3, "images": sum(map(sum, matrix)), "per_class": per_class,
            "confusion_matrix": matrix, "labels": LABELS}


def test_weaknesses_are_the_classes_below_macro_f1_worst_first_with_their_main_confusion() -> None:
    metrics = _metrics([0.9, 0.3, 0.5], [[90, 5, 5], [30, 60, 10], [4, 16, 80]])
    weak = class_weaknesses(metrics)
    assert [w["class"] for w in weak] == ["b", "c"]
    assert weak[0]["most_confused_with"] == "a" and weak[0]["confused_share"] == 0.3
    assert weak[1]["most_confused_with"] == "b" and weak[1]["recall"] == 0.8
    assert weak[0]["recall_standard_error"] == pytest.approx((0.6 * 0.4 / 100) ** 0.5, abs=1e-4)


def test_section_prefers_private_test_then_public_test_then_says_not_measured() -> None:
    val = _metrics([0.9, 0.3, 0.5], [[90, 5, 5], [30, 60, 10], [4, 16, 80]])
    test = _metrics([0.4, 0.8, 0.9], [[40, 50, 10], [10, 80, 10], [5, 5, 90]])
    assert intended_use({"metrics": {"val": val, "test": test}})["measured_weaknesses"]["classes"][0]["class"] == "a"
    assert intended_use({"metrics": {"val": val}})["measured_weaknesses"]["measured_on"] == "PublicTest"
    empty = intended_use({"metrics": {}})["measured_weaknesses"]
    assert empty["measured_on"] is None and "Not measured yet" in empty["summary"]


def test_section_names_what_the_model_is_not_for_and_the_data_limits() -> None:
    section = intended_use({})
    text = json.dumps(section)
    for needle in ("AI Act", "Article 5(1)(f)", "workplace", "education", "not an inner emotional state",
                   "label", "demographic"):
        assert needle in text, needle


def test_with_intended_use_leaves_every_other_key_alone() -> None:
    card = {"name": "m", "metrics": {"val": _metrics([0.9, 0.3, 0.5], [[90, 5, 5], [30, 60, 10], [4, 16, 80]])}}
    before = copy.deepcopy(card)
    with_intended_use(card)
    assert list(card) == ["name", "metrics", INTENDED_USE_KEY]
    assert {k: v for k, v in card.items() if k != INTENDED_USE_KEY} == before


@pytest.mark.parametrize("name", PACKAGED_MODELS)
def test_shipped_cards_hold_the_section_computed_from_their_own_figures(name: str) -> None:
    card = json.loads((packaged_dir() / f"{name}.json").read_text())
    assert card[INTENDED_USE_KEY] == intended_use(card)
    weaknesses = card[INTENDED_USE_KEY]["measured_weaknesses"]
    assert weaknesses["measured_on"] == "PrivateTest"
    per_class = card["metrics"]["test"]["per_class"]
    worst = min(per_class, key=lambda c: per_class[c]["f1"])
    assert weaknesses["classes"][0]["class"] == worst
