"""Model architectures and their registry (torch). Importing this registers every family."""

from __future__ import annotations

from facemotion.models import mini_xception, seed_cnn, vgg  # noqa: F401  (registers the variants)
from facemotion.models.complexity import count_macs, count_parameters
from facemotion.models.ensemble import LogitEnsemble
from facemotion.models.layers import EmotionNet, PerImageStandardize
from facemotion.models.registry import create_model, list_models, model_description, register_model
from facemotion.models.serialization import load_checkpoint, model_from_checkpoint, model_state

__all__ = ["EmotionNet", "LogitEnsemble", "PerImageStandardize", "count_macs", "count_parameters", "create_model",
           "list_models", "load_checkpoint", "model_description", "model_from_checkpoint", "model_state",
           "register_model"]
