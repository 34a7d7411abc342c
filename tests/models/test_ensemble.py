"""LogitEnsemble: the mean of its members' logits, and a model the exporter treats like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from facemotion.models import LogitEnsemble, count_macs, count_parameters, create_model
from facemotion.models.export import ProbabilityHead, to_onnx


def _members() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [create_model("vgg_xs").eval(), create_model("mini_xception").eval()]


def test_mean_of_member_logits_and_summed_cost() -> None:
    members = _members()
    ensemble = LogitEnsemble(members).eval()
    x = torch.rand(4, 1, 48, 48) * 255
    with torch.no_grad():
        want = (members[0](x) + members[1](x)) / 2
        assert torch.allclose(ensemble(x), want, atol=1e-6)
        assert torch.equal(LogitEnsemble(members[:1]).eval()(x), members[0](x))
    assert count_parameters(ensemble) == sum(count_parameters(m) for m in members)
    assert count_macs(ensemble) == sum(count_macs(m) for m in members)
    with pytest.raises(ValueError, match="at least one member"):
        LogitEnsemble([])


def test_ensemble_exports_like_a_single_model(tmp_path: Path) -> None:
    ensemble = LogitEnsemble(_members()).eval()
    path = to_onnx(ensemble, tmp_path / "e.onnx", temperature=1.3, flip_tta=True)
    x = (np.random.default_rng(1).random((3, 1, 48, 48)) * 255).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"pixels": x})[0]
    with torch.no_grad():
        want = ProbabilityHead(ensemble, temperature=1.3, flip_tta=True)(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() < 1e-4
