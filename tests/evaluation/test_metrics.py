from __future__ import annotations

import numpy as np
import pytest

from facemotion.evaluation import (
    accuracy,
    build_report,
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_class_prf,
)
from facemotion.evaluation.calibration import fit_temperature, nll, softmax, tta_probabilities
from facemotion.evaluation.tta import predict_with_tta, tencrop_views


def test_confusion_and_per_class_scores() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0])
    cm = confusion_matrix(labels, preds, num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    precision, recall, f1 = per_class_prf(cm)
    np.testing.assert_allclose(precision, [0.5, 2 / 3, 1.0])
    np.testing.assert_allclose(recall, [0.5, 1.0, 0.5])
    assert accuracy(cm) == pytest.approx(4 / 6)
    assert macro_f1(cm) == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))


def test_never_predicted_class_scores_zero_not_nan() -> None:
    cm = confusion_matrix(np.array([0, 1]), np.array([0, 0]), num_classes=2)
    assert np.isfinite(per_class_prf(cm)[2]).all() and per_class_prf(cm)[2][1] == 0


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    assert expected_calibration_error(probs, np.array([1, 1, 1, 1])) == pytest.approx(0.75)


def test_report_fields() -> None:
    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(size=(50, 7)))
    report = build_report(probs, rng.integers(0, 7, 50), {"split": "val"}).to_dict()
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "ece_15", "split"} <= set(report)
    assert sum(map(sum, report["confusion_matrix"])) == 50


def test_temperature_recovers_an_overconfident_scale() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 7)) * 2
    labels = np.array([rng.choice(7, p=p) for p in softmax(true_logits)])
    temperature = fit_temperature([true_logits * 3], labels)
    assert temperature == pytest.approx(3, rel=0.1)
    assert nll(tta_probabilities([true_logits * 3], temperature), labels) < nll(softmax(true_logits * 3), labels)


class _MeanBrightness:
    """A stand-in classifier whose answer depends on the crop, so TTA averaging is observable."""

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        left = crops[:, :, :24].mean(axis=(1, 2))
        right = crops[:, :, 24:].mean(axis=(1, 2))
        p = (left > right).astype(np.float32)
        out = np.zeros((len(crops), 7), np.float32)
        out[:, 0], out[:, 1] = p, 1 - p
        return out


def test_tta_modes() -> None:
    crops = np.zeros((3, 48, 48), np.uint8)
    crops[:, :, :24] = 200
    assert predict_with_tta(_MeanBrightness(), crops, "none")[0, 0] == 1
    np.testing.assert_allclose(predict_with_tta(_MeanBrightness(), crops, "flip")[:, :2], 0.5)
    assert len(tencrop_views(crops)) == 10 and tencrop_views(crops)[0].shape == (3, 48, 48)
    with pytest.raises(ValueError, match="unknown TTA mode"):
        predict_with_tta(_MeanBrightness(), crops, "rotate")
