"""Checkpoints from elsewhere: sizes are checked on the meta device before anything is allocated."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models import create_model, model_from_checkpoint, model_state
from facemotion.models.serialization import MAX_PARAMETERS, build_model


def _save(path: Path, **overrides: object) -> Path:
    model = create_model("vgg_xs")
    torch.save({**model_state("vgg_xs", {}, model), **overrides}, path)
    return path


def test_a_round_trip_loads() -> None:
    model = build_model("vgg_xs", {}, source="test", state_dict=create_model("vgg_xs").state_dict())
    assert sum(p.numel() for p in model.parameters()) < MAX_PARAMETERS


def test_a_huge_width_is_refused_before_any_allocation(tmp_path: Path) -> None:
    """width 10**6 would ask for terabytes of weights before load_state_dict could complain."""
    path = _save(tmp_path / "huge.pt", model_kwargs={"width": 10**6})
    start = time.perf_counter()
    with pytest.raises(ModelError, match="over the limit") as info:
        model_from_checkpoint(path)
    assert str(path) in str(info.value) and time.perf_counter() - start < 5


def test_weights_that_do_not_fit_and_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="weights do not fit"):
        model_from_checkpoint(_save(tmp_path / "wide.pt", model_kwargs={"width": 12}))
    for kwargs, message in [({"width": -3}, "cannot build"), ({"colour": 1}, "bad arguments"), ([1], "a dict")]:
        with pytest.raises(ModelError, match=message):
            model_from_checkpoint(_save(tmp_path / "bad.pt", model_kwargs=kwargs))


@pytest.mark.parametrize("config, message", [([1, 2], "its config is a list"), ({"labels": "happy"}, "not a list"),
                                             ({"labels": [1, 2]}, "not a list of names")])
def test_a_config_of_another_shape_is_refused_by_name(tmp_path: Path, config: object, message: str) -> None:
    path = _save(tmp_path / "odd.pt", config=config)
    with pytest.raises(ModelError, match=f"odd.pt: not a facemotion checkpoint .*{message}"):
        model_from_checkpoint(path)
