"""Evaluation (numpy): metrics, test-time augmentation and readable reports for any Classifier."""

from __future__ import annotations

from facemotion.evaluation.calibration import fit_temperature, tta_probabilities
from facemotion.evaluation.evaluate import evaluate
from facemotion.evaluation.metrics import (
                                           accuracy,
                                           confusion_matrix,
                                           expected_calibration_error,
                                           macro_f1,
                                           per_class_prf,
)
from facemotion.evaluation.report import EvaluationReport, build_report, write_report
from facemotion.evaluation.tta import TTA_MODES, predict_with_tta

__all__ = ["EvaluationReport", "TTA_MODES", "accuracy", "build_report", "confusion_matrix", "evaluate",
           "expected_calibration_error", "fit_temperature", "macro_f1", "per_class_prf", "predict_with_tta",
           "tta_probabilities", "write_report"]
