"""scripts/gpu_train.py at a tiny scale on the CPU: pack -> train (as on the bare GPU machine) -> collect -> export."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from facemotion.models import create_model, model_from_checkpoint, model_state
from facemotion.training.export_model import export_checkpoint
from tests.conftest import REPO, default_usages, synthetic_images, write_fer_csv

SCRIPT = REPO / "scripts" / "gpu_train.py"

# On the GPU machine only torch, numpy, onnx, OpenCV and typer are installed: the train step must not need the rest.
_GPU_MACHINE = '''
import sys
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
BLOCKED = {"matplotlib", "onnxruntime", "PIL", "tqdm", "scipy", "fastapi", "uvicorn", "skimage"}
class _Missing(Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (not on the GPU machine)", name=spec.name)
    def exec_module(self, module):
        raise AssertionError
class _Block(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        return ModuleSpec(name, _Missing()) if name.split(".")[0] in BLOCKED else None
sys.meta_path.insert(0, _Block())
'''


def _script() -> object:
    spec = importlib.util.spec_from_file_location("gpu_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_pack_train_collect_export_end_to_end(tmp_path: Path) -> None:
    images, labels = synthetic_images(245)
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(175, 35, 35))
    payload = tmp_path / "payload.npz"
    packed = _run("pack", "--data", str(csv), "--out", str(payload), "--quality", "90")
    assert "mean abs pixel error" in packed and "MiB left" in packed

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_GPU_MACHINE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(REPO / "src")]),
           "FACEMOTION_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    _run("train", "--data", str(payload), "--out", str(out), "--device", "cpu", "--arch", "vgg_xs", "--epochs", "2",
         "--max-epochs", "2", "--seeds", "2", "--probe-epochs", "2", "--budget", "400", "--set", "batch_size=32",
         env=env)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["gpu_train.log", "gpu_vgg_xs_e2_s1.pt", "gpu_vgg_xs_e2_s2.pt", "runs.tar.gz"]
    checkpoint = torch.load(out / "gpu_vgg_xs_e2_s1.pt", weights_only=True)
    assert {v.dtype for v in checkpoint["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    with tarfile.open(out / "runs.tar.gz") as bundle:
        names = bundle.getnames()
    assert "report.json" in names and "run1/gpu_vgg_xs_e2_s2/metrics.csv" in names

    runs = tmp_path / "runs"
    collected = _run("collect", str(out), "--runs", str(runs))
    assert "release a chosen set" in collected
    card = export_checkpoint([runs / "gpu_vgg_xs_e2_s1" / "best.pt", runs / "gpu_vgg_xs_e2_s2" / "best.pt"],
                             tmp_path / "ensemble.onnx", flip_tta=False)
    assert card["architecture"] == "ensemble" and len(card["members"]) == 2
    assert f"--out {runs / 'gpu_vgg_xs_e2_s1'}" in card["members"][0]["training"]["command"]


PAYLOAD_AT_QUALITY_80 = 29.5  # MiB: FER2013 Training as JPEG 80 and PublicTest exact, measured (docs/training.md)


def test_the_working_tree_leaves_room_for_the_payload() -> None:
    """The tree travels beside the payload: a checkpoint left in it can silently lock out the GPU route."""
    script = _script()
    tree = script.working_tree_bytes() / script.MiB
    free = script.TRANSFER_LIMIT / script.MiB - tree - PAYLOAD_AT_QUALITY_80
    assert free >= script.HEADROOM_MIB, (
        f"the working tree is {tree:.1f} MiB: with the {PAYLOAD_AT_QUALITY_80} MiB payload only {free:.1f} MiB of 64 "
        "stay free; move finished runs' weights to history (scripts/campaign_checkpoints.py)")


def test_fp16_checkpoints_load_as_float32_and_predict_alike(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("vgg_xs").eval()
    state = model_state("vgg_xs", {}, model)
    state["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in state["state_dict"].items()}
    torch.save(state, tmp_path / "half.pt")
    loaded, _ = model_from_checkpoint(tmp_path / "half.pt")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    x = torch.from_numpy(synthetic_images(16)[0][:, None].astype(np.float32))
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=0.05)


def _args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**{"seeds": 4, "epochs": 200, "max_epochs": 300, **values})


@pytest.mark.parametrize("epoch_s, available, expected", [
    (1.0, 500.0, (4, 300)),    # room to spare: every seed, up to --max-epochs
    (2.0, 500.0, (4, 250)),    # every seed reaches --epochs
    (4.0, 500.0, (2, 250)),    # seeds are cut before epochs: 2 seeds take half the time of 4
    (20.0, 500.0, (1, 100)),   # even one seed falls short: it trains as long as the time allows
])
def test_plan_cuts_seeds_before_epochs(epoch_s: float, available: float, expected: tuple[int, int]) -> None:
    assert _script().plan(epoch_s, 4, available, _args()) == expected


def test_a_replan_never_adds_seeds_beyond_those_measured() -> None:
    assert _script().plan(1.0, 2, 500.0, _args()) == (2, 300)


class _Stuck:
    """Workers that never finish an epoch: the deadline must stop them."""

    def __init__(self) -> None:
        self.stopped, self.seen = False, [[]]

    def running(self) -> bool:
        return not self.stopped

    def poll(self) -> None:
        pass

    def stop(self) -> None:
        self.stopped = True


def test_watch_stops_workers_at_the_deadline() -> None:
    import time

    stuck = _Stuck()
    assert _script().watch(stuck, time.time() + 1.0) == "deadline"
    assert stuck.stopped


def test_plan_survives_an_epoch_faster_than_the_clock() -> None:
    """A tiny probe can time an epoch as 0 s (seen in CI): the plan caps epochs instead of dividing by zero."""
    assert _script().plan(0.0, 2, 500.0, _args()) == (2, 300)
