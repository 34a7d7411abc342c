"""The training-side commands end to end on a small synthetic data set: train -> evaluate -> export -> evaluate."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace as dataclasses_replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from facemotion.cli.main import app
from facemotion.data import load_fer2013
from facemotion.inference import OnnxClassifier, TorchClassifier
from facemotion.models import list_models

runner = CliRunner()


def test_models_lists_every_registered_model() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in list_models():
        assert name in result.output
    assert "MACs" in result.output


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.conftest import default_usages, synthetic_images, write_fer_csv

    root = tmp_path_factory.mktemp("cli")
    images, labels = synthetic_images(420)
    data = write_fer_csv(root / "fer.csv.gz", images, labels, default_usages(300, 60, 60))
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(root / "run"), "--arch", "vgg_s",
                                 "--width", "8", "--epochs", "3", "--batch-size", "32", "--lr", "0.05",
                                 "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    return data, root / "run"


def test_evaluate_writes_the_reports(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, run = trained_run
    result = runner.invoke(app, ["evaluate", "--model", str(run / "best.pt"), "--data", str(data),
                                 "--split", "val", "--out", str(tmp_path / "eval"), "--tta", "flip"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    # The accuracy is that of the checkpoint's own flip-averaged predictions on PublicTest, computed here apart.
    val = load_fer2013(data).val
    classifier = TorchClassifier(run / "best.pt")
    probabilities = (classifier.predict_proba(val.images) + classifier.predict_proba(val.images[:, :, ::-1])) / 2
    expected = float((probabilities.argmax(axis=1) == val.labels).mean())
    assert report["images"] == 60 and report["accuracy"] == pytest.approx(expected, abs=1e-9)
    assert report["accuracy"] > 2 / 7  # three epochs on the learnable synthetic data beat chance (1/7) plainly
    assert set(report["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert (tmp_path / "eval" / "confusion.png").stat().st_size > 0
    assert "accuracy" in (tmp_path / "eval" / "report.md").read_text()


def test_export_round_trip_matches_torch(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, run = trained_run
    out = tmp_path / "model.onnx"
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(out),
                                 "--calibrate", str(data), "--no-flip-tta"])
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["architecture"] == "vgg_s" and card["calibration"]["fitted_on"] == "PublicTest"
    crops = load_fer2013(data).test.images
    onnx_probs = OnnxClassifier(out).predict_proba(crops)
    torch_probs = TorchClassifier(run / "best.pt", temperature=card["temperature"]).predict_proba(crops)
    assert np.abs(onnx_probs - torch_probs).max() < 1e-4
    np.testing.assert_allclose(onnx_probs.sum(axis=1), 1, atol=1e-5)

    card_path = out.with_suffix(".json")
    result = runner.invoke(app, ["evaluate", "--model", str(out), "--data", str(data), "--split", "test",
                                 "--card", str(card_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", "--model", str(run / "best.pt"), "--data", str(data), "--split",
                                 "test", "--card", str(card_path), "--card-key", "test_uncalibrated"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(card_path.read_text())["metrics"]
    assert metrics["test"]["accuracy"] == pytest.approx(metrics["test_uncalibrated"]["accuracy"])
    assert card["intended_use"]["measured_weaknesses"]["measured_on"] is None  # export: nothing measured yet
    assert json.loads(card_path.read_text())["intended_use"]["measured_weaknesses"]["measured_on"] == "PrivateTest"


def test_export_int8_writes_a_quantised_graph_that_scores_as_the_float_one(trained_run: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    data, run = trained_run
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(tmp_path / "q.onnx"),
                                 "--int8", "--no-flip-tta"])
    assert result.exit_code == 2 and "--int8 needs --calibrate DATA" in result.output
    assert not (tmp_path / "q.onnx").exists()
    common = ["--model", str(run / "best.pt"), "--calibrate", str(data), "--no-flip-tta"]
    for name, extra in (("float.onnx", []), ("int8.onnx", ["--int8"])):
        result = runner.invoke(app, ["export", *common, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
    assert "as int8 (activation ranges from 300 Training faces)" in result.output
    card = json.loads((tmp_path / "int8.json").read_text())
    assert card["quantization"]["precision"] == "int8" and card["quantization"]["calibration_faces"] == 300
    assert card["temperature"] == json.loads((tmp_path / "float.json").read_text())["temperature"]
    test = load_fer2013(data).test
    float_probs = OnnxClassifier(tmp_path / "float.onnx").predict_proba(test.images)
    int8_probs = OnnxClassifier(tmp_path / "int8.onnx").predict_proba(test.images)
    assert (int8_probs.argmax(1) == float_probs.argmax(1)).mean() >= 0.95
    # A shipped graph is quantised through a re-export, where --calibrate serves the activation ranges alone.
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "float.onnx"), "--out",
                                 str(tmp_path / "again.onnx"), "--calibrate", str(data)])
    assert result.exit_code == 2 and "--calibrate applies to checkpoint (.pt) exports and --int8 only" in result.output
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "float.onnx"), "--data", str(data),
                                 "--split", "test", "--card", str(tmp_path / "float.json")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "float.onnx"), "--out",
                                 str(tmp_path / "again.onnx"), "--calibrate", str(data), "--int8"])
    assert result.exit_code == 0, result.output
    again = OnnxClassifier(tmp_path / "again.onnx")
    assert again.metadata["precision"] == "int8"
    again_card = json.loads((tmp_path / "again.json").read_text())
    assert again_card["quantization"]["precision"] == "int8"
    assert again_card["metrics"] == {} and "test" in again_card["float_metrics"]  # the float graph's, kept apart
    assert (tmp_path / "again.onnx").stat().st_size < 0.5 * (tmp_path / "float.onnx").stat().st_size
    assert (again.predict_proba(test.images).argmax(1) == float_probs.argmax(1)).mean() >= 0.95
    # Calibration data without the split it is needed for is refused before anything is written.
    from tests.conftest import default_usages, synthetic_images, write_fer_csv

    images, labels = synthetic_images(20)
    before = {p: p.read_bytes() for p in (tmp_path / "again.onnx", tmp_path / "again.json")}
    for usages, args, split in ((default_usages(0, 10, 10), [str(tmp_path / "float.onnx"), "--int8"], "Training"),
                                (default_usages(10, 0, 10), [str(run / "best.pt")], "PublicTest")):
        partial = write_fer_csv(tmp_path / f"no-{split}.csv", images, labels, usages)
        result = runner.invoke(app, ["export", "--model", *args, "--out", str(tmp_path / "again.onnx"),
                                     "--calibrate", str(partial)])
        assert result.exit_code == 2 and f"its {split} split holds no faces" in result.output, result.output
    assert {p: p.read_bytes() for p in before} == before
    assert (tmp_path / "again.onnx").stat().st_mode & 0o777 == 0o644
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "int8.onnx"), "--out",
                                 str(tmp_path / "twice.onnx"), "--calibrate", str(data), "--int8"])
    assert result.exit_code == 2 and "is already an int8 graph" in result.output
    assert not (tmp_path / "twice.onnx").exists()
    # An int8 graph joins an ensemble through its dequantized weights, and the card says so.
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "int8.onnx"), "--model", str(run / "best.pt"),
                                 "--out", str(tmp_path / "mixed.onnx"), "--no-flip-tta"])
    assert result.exit_code == 0, result.output
    members = json.loads((tmp_path / "mixed.json").read_text())["members"]
    assert members[0]["rebuilt_from"] == "dequantized int8 weights" and "rebuilt_from" not in members[1]


def test_export_with_zoom_views_calibrates_over_them(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    import torch

    from facemotion.evaluation.calibration import fit_temperature
    from facemotion.models import model_from_checkpoint
    from facemotion.models.export import ProbabilityHead
    from facemotion.training.export_model import view_logits

    data, run = trained_run
    out = tmp_path / "zoomed.onnx"
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(out),
                                 "--calibrate", str(data), "--tta-zoom", "1.08"])
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["flip_tta"] is True and card["tta_zooms"] == [1.08]
    model = model_from_checkpoint(run / "best.pt")[0].eval()
    val = load_fer2013(data).val
    views = view_logits(model, val.images, True, [1.08])
    assert len(views) == 4 and card["temperature"] == pytest.approx(fit_temperature(views, val.labels), rel=1e-6)
    crops = load_fer2013(data).test.images
    with torch.no_grad():
        want = ProbabilityHead(model, temperature=card["temperature"], flip_tta=True, zooms=[1.08])(
            torch.from_numpy(crops.astype(np.float32)[:, None])).numpy()
    assert np.abs(OnnxClassifier(out).predict_proba(crops) - want).max() < 1e-4

    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(tmp_path / "bad.onnx"),
                                 "--tta-zoom", "3"])
    assert result.exit_code == 2 and not (tmp_path / "bad.onnx").exists()


def test_export_of_an_ensemble_averages_the_members_logits(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    import onnx
    import torch

    from facemotion.models import LogitEnsemble, model_from_checkpoint
    from facemotion.models.export import ProbabilityHead
    from facemotion.models.from_onnx import model_from_onnx

    data, run = trained_run
    other = tmp_path / "run2"
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(other), "--arch", "vgg_s", "--width", "8",
                                 "--epochs", "2", "--batch-size", "32", "--lr", "0.05", "--seed", "1", "--threads",
                                 "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "ensemble.onnx"
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--model", str(other / "best.pt"),
                                 "--out", str(out), "--calibrate", str(data)])
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["architecture"] == "ensemble" and [m["architecture"] for m in card["members"]] == ["vgg_s"] * 2
    assert card["macs"] == sum(m["macs"] for m in card["members"]) and card["training"]["data"]["hash"]
    assert card["training"]["command"].count("facemotion train") == 2
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(metadata["members"]) == [{"architecture": m["architecture"],
                                                "architecture_kwargs": m["architecture_kwargs"]}
                                               for m in card["members"]]

    members = [model_from_checkpoint(path)[0] for path in (run / "best.pt", other / "best.pt")]
    head = ProbabilityHead(LogitEnsemble(members), temperature=card["temperature"], flip_tta=True).eval()
    crops = load_fer2013(data).test.images
    with torch.no_grad():
        want = head(torch.from_numpy(crops.astype(np.float32)[:, None])).numpy()
    assert np.abs(OnnxClassifier(out).predict_proba(crops) - want).max() < 1e-4
    alone = tmp_path / "alone" / "ensemble.onnx"  # the graph without its card still rebuilds, from its metadata
    alone.parent.mkdir()
    shutil.copy(out, alone)
    rebuilt = model_from_onnx(alone)[0]
    with torch.no_grad():
        pixels = torch.from_numpy(crops[:16].astype(np.float32)[:, None])
        torch.testing.assert_close(rebuilt(pixels), LogitEnsemble(members)(pixels), atol=1e-3, rtol=1e-3)

    foreign = tmp_path / "foreign"
    shutil.copytree(other, foreign)
    config = json.loads((foreign / "config.json").read_text())
    config["data"]["hash"] = "0000000000000000"
    (foreign / "config.json").write_text(json.dumps(config))
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--model", str(foreign / "best.pt"),
                                 "--out", str(tmp_path / "bad.onnx")])
    assert result.exit_code == 2 and "different data" in result.output
    assert not (tmp_path / "bad.onnx").exists()


def test_user_errors_exit_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "r"),
                                 "--epochs", "1"])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "none.onnx"), "--data", "x"])
    assert result.exit_code == 2 and "no such model file" in result.output
    result = runner.invoke(app, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 2 and "nothing to resume" in result.output
    (tmp_path / "notes.txt").write_text("kept")
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "notes.txt")])
    assert result.exit_code == 2 and "notes.txt: is a file; a run writes a folder" in result.output
    assert (tmp_path / "notes.txt").read_text() == "kept" and "Traceback" not in result.output


@pytest.mark.parametrize("card_text, message", [
    ("{not json", "not a readable model card"),
    ("[1, 2]", "not a model card"),
    ('{"metrics": [1]}', "not a model card"),
])
def test_evaluate_refuses_a_bad_card_or_out_before_it_evaluates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               card_text: str, message: str) -> None:
    import facemotion.evaluation as evaluation

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("evaluated before the options were checked")

    monkeypatch.setattr(evaluation, "evaluate", refuse)
    card = tmp_path / "card.json"
    card.write_text(card_text)
    result = runner.invoke(app, ["evaluate", "--model", "fast", "--data", "x.csv", "--card", str(card)])
    assert result.exit_code == 2 and f"card.json: {message}" in result.output and "Traceback" not in result.output
    assert card.read_text() == card_text
    (tmp_path / "a-file").write_text("kept")
    result = runner.invoke(app, ["evaluate", "--model", "fast", "--data", "x.csv", "--out", str(tmp_path / "a-file")])
    assert result.exit_code == 2 and "a-file: is a file; give a folder" in result.output
    assert (tmp_path / "a-file").read_text() == "kept"


def test_resume_takes_threads_and_refuses_other_settings(trained_run: tuple[Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run keeps its settings (it must end where the uninterrupted one would); only the speed may change."""
    fit_module = importlib.import_module("facemotion.training.fit")  # the module, not the package's fit()
    _, run = trained_run
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "9", "--width", "4", "--no-progress"])
    assert result.exit_code == 2 and "leave out --epochs, --width" in result.output, result.output
    seen = []
    monkeypatch.setattr(fit_module, "_guarded", lambda cfg, run_dir, state, progress: seen.append(cfg) or run_dir)
    assert runner.invoke(app, ["train", "--resume", str(run), "--threads", "1", "--no-progress"]).exit_code == 0
    assert runner.invoke(app, ["train", "--resume", str(run), "--no-progress"]).exit_code == 0
    saved = fit_module.resume_config(run)
    assert seen[0].threads == 1 and seen[0] == dataclasses_replace(saved, threads=1)
    assert seen[1] == saved


def test_a_damaged_last_pt_is_a_one_line_error(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    """Truncated (RuntimeError), empty (click's bare "Aborted!"), foreign or best.pt-as-last.pt (StopIteration,
    KeyError) checkpoints under `train --resume`: exit 2 and a line naming the file."""
    import torch

    _, run = trained_run
    good = (run / "last.pt").read_bytes()
    cases = {"truncated": good[: len(good) // 2], "empty": b"", "text": b"not a checkpoint\n"}
    for name, content in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "last.pt").write_bytes(content)
    (tmp_path / "list").mkdir()
    torch.save([1, 2, 3], tmp_path / "list" / "last.pt")
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "last.pt").write_bytes((run / "best.pt").read_bytes())
    for name, message in [("truncated", "not a readable facemotion checkpoint"), ("empty", "not a readable"),
                          ("text", "not a readable"), ("list", "not a facemotion checkpoint"),
                          ("best", "not a resumable checkpoint")]:
        result = runner.invoke(app, ["train", "--resume", str(tmp_path / name), "--no-progress"])
        assert result.exit_code == 2 and message in result.output, (name, result.output)
        assert f"{tmp_path / name / 'last.pt'}" in result.output and "Traceback" not in result.output
        assert result.output.strip().count("\n") == 0, result.output


def test_export_refuses_a_name_that_is_not_onnx_before_writing(trained_run: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    """`--out model.json` left an ONNX graph under the model card's name."""
    _, run = trained_run
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(tmp_path / "model.json")])
    assert result.exit_code == 2 and "must end in .onnx" in result.output
    assert list(tmp_path.iterdir()) == []


def test_threads_are_capped_at_the_cpu_count() -> None:
    from facemotion.cli._common import CPU_COUNT

    assert "at most the CPU count" in runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output
    assert CPU_COUNT >= 1


def test_a_setting_the_config_refuses_is_a_one_line_error(tmp_path: Path) -> None:
    from tests.conftest import default_usages, synthetic_images, write_fer_csv

    images, labels = synthetic_images(30)
    data = write_fer_csv(tmp_path / "fer.csv.gz", images, labels, default_usages(10, 10, 10))
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--freeze", "1",
                                 "--no-progress"])
    assert result.exit_code == 2
    assert "freeze and body_lr apply to fine-tuning" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_an_exported_graph_joins_an_ensemble_member_by_member(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    """A shipped model has no checkpoint left: its graph (with its card) joins a larger ensemble as its members."""
    data, run = trained_run
    shipped = tmp_path / "shipped.onnx"
    result = runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(shipped)])
    assert result.exit_code == 0, result.output
    pair = tmp_path / "pair.onnx"
    result = runner.invoke(app, ["export", "--model", str(shipped), "--model", str(run / "best.pt"),
                                 "--out", str(pair), "--calibrate", str(data), "--no-flip-tta"])
    assert result.exit_code == 0, result.output
    card = json.loads(pair.with_suffix(".json").read_text())
    assert [m["architecture"] for m in card["members"]] == ["vgg_s"] * 2
    assert [m.get("from") for m in card["members"]] == ["shipped.onnx", None]
    assert card["training"]["data"]["hash"] == json.loads(shipped.with_suffix(".json").read_text())["training"][
        "data"]["hash"]
    # Two copies of one network average to that network: the probabilities are the single model's.
    crops = load_fer2013(data).test.images
    single = TorchClassifier(run / "best.pt", temperature=card["temperature"]).predict_proba(crops)
    assert np.abs(OnnxClassifier(pair).predict_proba(crops) - single).max() < 1e-4


def test_members_picked_out_of_a_graph_export_as_those_networks(trained_run: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    """``FILE.onnx[K]`` takes member K of an exported ensemble: one member alone exports as that network."""
    import shutil

    import torch

    data, run = trained_run
    other = tmp_path / "other"  # a second network (the exporter merges identical layers): every weight moved
    other.mkdir()
    shutil.copy(run / "config.json", other / "config.json")
    checkpoint = torch.load(run / "best.pt", weights_only=False)
    for key, value in checkpoint["state_dict"].items():
        if key.endswith("weight"):
            checkpoint["state_dict"][key] = value * 1.01
    torch.save(checkpoint, other / "best.pt")
    pair = tmp_path / "pair.onnx"
    assert runner.invoke(app, ["export", "--model", str(other / "best.pt"), "--model", str(run / "best.pt"),
                               "--out", str(pair), "--no-flip-tta"]).exit_code == 0
    one = tmp_path / "one.onnx"
    result = runner.invoke(app, ["export", "--model", f"{pair}[1]", "--out", str(one), "--no-flip-tta"])
    assert result.exit_code == 0, result.output
    card = json.loads(one.with_suffix(".json").read_text())
    assert card["architecture"] == "vgg_s" and "members" not in card
    crops = load_fer2013(data).test.images
    single = TorchClassifier(run / "best.pt").predict_proba(crops)
    assert np.abs(OnnxClassifier(one).predict_proba(crops) - single).max() < 1e-4
    both = tmp_path / "both.onnx"
    assert runner.invoke(app, ["export", "--model", f"{pair}[0,1]", "--model", str(one), "--out", str(both),
                               "--no-flip-tta"]).exit_code == 0
    assert [m.get("from") for m in json.loads(both.with_suffix(".json").read_text())["members"]] == [
        "pair.onnx[0]", "pair.onnx[1]", "one.onnx"]
    for bad, message in ((f"{pair}[2]", "no member 2"), (f"{pair}[x]", "member numbers")):
        result = runner.invoke(app, ["export", "--model", bad, "--model", str(one), "--out", str(tmp_path / "x.onnx")])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.onnx").exists()


def test_a_graph_without_its_card_cannot_join_an_ensemble(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run = trained_run
    lone = tmp_path / "lone.onnx"
    assert runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(lone)]).exit_code == 0
    lone.with_suffix(".json").unlink()
    result = runner.invoke(app, ["export", "--model", str(lone), "--model", str(run / "best.pt"),
                                 "--out", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and "model card" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.onnx").exists()


def test_the_cards_command_line_rebuilds_the_run(trained_run: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The model card's ``facemotion train ...`` line, built from TrainConfig's field metadata, parses back into the
    run's settings (new spellings: --arch)."""
    from facemotion.cli.train import settings_from_options
    from facemotion.models import model_from_checkpoint

    _, run = trained_run
    out = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", "--model", str(run / "best.pt"), "--out", str(out)]).exit_code == 0
    command = json.loads(out.with_suffix(".json").read_text())["training"]["command"]
    assert command.startswith("facemotion train --data ") and " --arch vgg_s " in command and "--width 8" in command
    assert "--model" not in command and "--momentum" not in command and "--val-fraction" not in command
    saved = model_from_checkpoint(run / "best.pt")[1]["config"]
    import facemotion.training as training

    captured: dict = {}
    monkeypatch.setattr(training, "fit", lambda cfg, progress=None: captured.setdefault("cfg", cfg) and Path(cfg.out))
    result = runner.invoke(app, command.split()[1:])  # the card's command, parsed by the real train command
    assert result.exit_code == 0, result.output
    assert captured["cfg"].to_dict() == saved
    # nothing given: every setting is the dataclass default
    assert settings_from_options({"data": "d", "out": "o"}) == training.TrainConfig(data="d", out="o")


def test_old_spellings_still_work_and_warn_once(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, run = trained_run
    result = runner.invoke(app, ["evaluate", "--weights", str(run / "best.pt"), "--data", str(data), "--split", "val",
                                 "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert result.output.count("--weights is deprecated") == 1 and "use --model" in result.output
    out = tmp_path / "old.onnx"
    result = runner.invoke(app, ["export", "--weights", str(run / "best.pt"), "--weights", str(run / "best.pt"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("--weights is deprecated") == 1 and out.is_file()
    result = runner.invoke(app, ["evaluate", "--weights", "x.onnx", "--model", "y.onnx", "--data", str(data)])
    assert result.exit_code == 2 and "give --model only" in result.output
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "r"), "--model", "vgg_s",
                                 "--width", "8", "--epochs", "1", "--subset", "32", "--batch-size", "32",
                                 "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "--model is deprecated" in result.output and "use --arch" in result.output
    assert json.loads((tmp_path / "r" / "config.json").read_text())["config"]["model"] == "vgg_s"
    for hidden in ("--weights", "--model"):
        command = "train" if hidden == "--model" else "evaluate"
        assert hidden not in runner.invoke(app, [command, "--help"], env={"COLUMNS": "300"}).output


def test_train_takes_every_setting_the_config_exposes() -> None:
    import dataclasses

    from facemotion.training import TrainConfig
    from facemotion.training.config import option_name

    help_text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output
    for f in dataclasses.fields(TrainConfig):
        assert (f"--{option_name(f)}" in help_text) == bool(f.metadata["cli"]), f.name
