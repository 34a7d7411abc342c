"""Model cards: the JSON beside each model file (``x.onnx`` -> ``x.json``), read in one place that checks its shape.

``facemotion export`` writes a card; evaluation, fine-tuning, quantization and the tiers read the parts they need.
A card edited by hand or damaged is refused here, naming the file and the field, instead of failing deep inside
whichever reader met it first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facemotion.errors import ModelError
from facemotion.paths import write_atomic

__all__ = ["card_path", "read_card", "check_card", "card_text", "write_card"]

_NUMBER = (int, float)
_SECTIONS: dict[str, type | tuple[type, ...]] = {
    "training": dict, "members": list, "output": dict, "metrics": dict, "calibration": dict, "quantization": dict,
    "intended_use": dict, "temperature": _NUMBER}
_TRAINING: dict[str, type | tuple[type, ...]] = {"config": dict, "selected_val_accuracy": (*_NUMBER, type(None))}
_CONFIG: dict[str, type | tuple[type, ...]] = {"val_fraction": _NUMBER, "test_fraction": _NUMBER, "seed": int,
                                               "faces": str}


def card_path(model: str | Path) -> Path:
    """The card of a model file: ``x.onnx`` -> ``x.json``."""
    return Path(model).with_suffix(".json")


def read_card(path: Path) -> dict[str, Any]:
    """The card at ``path``, checked.

    Raises:
        ModelError: unreadable, not JSON, or a field of another type than the one its readers use.
    """
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable model card ({exc})") from exc
    check_card(content, path)
    return content


def card_text(card: dict[str, Any], path: Path | str) -> str:
    """The card as written to ``path``: checked by the rule :func:`read_card` applies, so no writer leaves a card
    its readers refuse; indented JSON, one trailing newline."""
    check_card(card, path)
    return json.dumps(card, indent=2) + "\n"


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Write ``card`` to ``path`` atomically (a run killed mid-write leaves the old card whole), readable by all."""
    write_atomic(path, card_text(card, path), mode=0o644)


def check_card(content: Any, path: Path | str) -> None:
    """Refuse ``content`` as the card at ``path`` when a field its readers use has another type."""
    problem = _problem(content)
    if problem is not None:
        raise ModelError(f"{path}: not a model card: {problem}")


def _problem(card: Any) -> str | None:
    if not isinstance(card, dict):
        return f"{_kind(card)}, not an object"
    if problem := _fields(card, _SECTIONS, ""):
        return problem
    trainings = [("training", card.get("training"))]
    for i, member in enumerate(card.get("members") or []):
        if not isinstance(member, dict):
            return f"members[{i}] is {_kind(member)}, not an object"
        if "training" in member and not isinstance(member["training"], dict):
            return f"members[{i}].training is {_kind(member['training'])}, not an object"
        trainings.append((f"members[{i}].training", member.get("training")))
    for where, training in trainings:
        if training is None:
            continue
        if problem := _fields(training, _TRAINING, f"{where}."):
            return problem
        if problem := _fields(training.get("config") or {}, _CONFIG, f"{where}.config."):
            return problem
    return None


def _fields(record: dict[str, Any], expected: dict[str, type | tuple[type, ...]], prefix: str) -> str | None:
    for key, kind in expected.items():
        value = record.get(key)
        if key in record and (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)):
            kinds = (kind,) if isinstance(kind, type) else kind
            expected = " or ".join(_JSON_NAMES.get(k, k.__name__) for k in kinds)
            return f"{prefix}{key} is {_kind(value)}, expected {expected}"
    return None


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               type(None): "null"}


def _kind(value: Any) -> str:
    return _JSON_NAMES.get(type(value), f"a {type(value).__name__}")
