"""The shipped models: they load without torch, answer in the documented contract, and still score what their
model cards record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facemotion.data import load_fer2013
from facemotion.evaluation import predict_with_tta
from facemotion.inference import PACKAGED_MODELS, load_classifier, resolve_model
from tests.conftest import FER_CSV


@pytest.mark.parametrize("name", PACKAGED_MODELS)
def test_card_describes_the_file(name: str) -> None:
    path = resolve_model(name)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["file"] == path.name and card["output"]["labels"][3] == "happy"
    assert card["calibration"]["fitted_on"] == "PublicTest"
    for key in ("val", "test", "test_uncalibrated", "test_first500"):
        assert 0 < card["metrics"][key]["accuracy"] <= 1
    assert card["training"]["data"]["hash"] and card["parameters"] > 0
    assert path.stat().st_size < 8 * 2**20


@pytest.mark.parametrize("name", PACKAGED_MODELS)
def test_probabilities_contract(name: str) -> None:
    classifier = load_classifier(name)
    crops = np.random.default_rng(0).integers(0, 256, size=(5, 48, 48), dtype=np.uint8)
    probs = classifier.predict_proba(crops)
    assert probs.shape == (5, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.predict_proba(crops[:0]).shape == (0, 7)


@pytest.mark.integration
@pytest.mark.parametrize("name", PACKAGED_MODELS)
def test_recorded_accuracy_on_a_fixed_sample(name: str, shared_dir) -> None:
    card = json.loads(resolve_model(name).with_suffix(".json").read_text())
    recorded = card["metrics"]["test_first500"]
    test = load_fer2013(FER_CSV).test
    probs = predict_with_tta(load_classifier(name), test.images[:500])
    accuracy = float((probs.argmax(axis=1) == test.labels[:500]).mean())
    assert accuracy == pytest.approx(recorded["accuracy"], abs=0.004)  # 2 images of 500: runtime/threads noise only
