"""Your own faces end to end: train on a 3-label folder, export, then predict, evaluate and serve with its labels;
fine-tune from the packaged model; and the settings that must fail before training starts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from facemotion.cli.main import app
from tests.data.own_images import LABELS3, label_folders, split_folders, write_image

runner = CliRunner()
QUICK = ["--arch", "vgg_xs", "--epochs", "2", "--batch-size", "16", "--lr", "0.05", "--threads", "1",
         "--no-progress", "--warmup-epochs", "0"]


def train(*args: object) -> str:
    result = runner.invoke(app, ["train", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def own_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("own")
    data = split_folders(root / "faces", {"train": 12, "val": 4, "test": 4})
    train("--data", data, "--out", root / "run", *QUICK)
    onnx = root / "mine.onnx"
    result = runner.invoke(app, ["export", "--model", str(root / "run" / "best.pt"), "--out", str(onnx),
                                 "--calibrate", str(data)])
    assert result.exit_code == 0, result.output
    return data, root / "run", onnx


def test_run_records_labels_and_data(own_run: tuple[Path, Path, Path]) -> None:
    _, run, onnx = own_run
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["labels"] == list(LABELS3)
    assert config["config"]["model_kwargs"]["num_classes"] == 3
    assert config["data"]["kind"] == "split-folders" and config["data"]["images"] == {"train": 36, "val": 12,
                                                                                        "test": 12}
    card = json.loads(onnx.with_suffix(".json").read_text())
    assert card["output"]["labels"] == list(LABELS3) and card["output"]["shape"] == ["N", 3]
    assert card["training"]["data"]["source"] == str(own_run[0])
    assert card["calibration"]["fitted_on"] == "PublicTest"


def test_predict_prints_the_custom_labels(own_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, _, onnx = own_run
    photo = write_image(tmp_path / "photo.jpg", 2, seed=5)
    cli = app
    result = runner.invoke(cli, ["predict", str(photo), "--model", str(onnx), "--detector", "none"])
    assert result.exit_code == 0, result.output
    face = json.loads(result.stdout.splitlines()[0])["faces"][0]
    assert list(face["probabilities"]) == list(LABELS3) and face["emotion"] in LABELS3
    result = runner.invoke(cli, ["predict", str(photo), "--model", str(onnx), "--detector", "none", "--csv", "-"])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[-4:] == [*LABELS3, "error"]


def test_evaluate_uses_the_model_labels(own_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    data, _, onnx = own_run
    result = runner.invoke(app, ["evaluate", "--model", str(onnx), "--data", str(data), "--split", "test",
                                 "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    assert "negative F1" in result.output and "positive F1" in result.output
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["labels"] == list(LABELS3) and len(report["confusion_matrix"]) == 3 and report["images"] == 12


def test_http_service_answers_with_the_custom_labels(own_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from facemotion.inference.recognizer import Recognizer
    from facemotion.serving.app import create_app
    from tests.serving.conftest import TestClient, settings_for

    _, _, onnx = own_run
    photo = write_image(tmp_path / "photo.png", 0, seed=9)
    app_ = create_app(Recognizer(str(onnx), "none"), settings=settings_for(onnx))
    with TestClient(app_) as client:
        response = client.post("/v1/predict?top_k=3&explain=Negative", files={"image": photo.read_bytes()})
        assert response.status_code == 200, response.text
        face = response.json()["faces"][0]
        assert list(face["probabilities"]) == list(LABELS3)
        assert [e["emotion"] for e in face["top_k"]] != [] and set(face["heatmap"]["maps"]) == {"negative"}
        assert client.post("/v1/predict?explain=happy", files={"image": photo.read_bytes()}).status_code == 400
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert list(schema["Probabilities"]["properties"]) == list(LABELS3)


def test_fine_tune_from_default_gets_a_new_head(tmp_path: Path) -> None:
    data = label_folders(tmp_path / "faces", per_label=8)
    train("--data", data, "--out", tmp_path / "run", "--init", "default", "--freeze", "1", "--body-lr", "0.1",
          "--epochs", "1", "--batch-size", "16", "--threads", "1", "--no-progress", "--val-fraction", "0.25")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["init"]["head"] == "new" and config["init"]["member"] in (0, 1)
    assert config["init"]["batchnorms_restored"] > 0 and config["config"]["model"] == "vgg_m"
    assert config["data"]["split"]["drawn"] and len(config["data"]["split"]["val_files"]) == 6
    from facemotion.inference import TorchClassifier

    assert TorchClassifier(tmp_path / "run" / "best.pt").labels == LABELS3


def test_restored_batchnorms_keep_the_eval_function() -> None:
    import torch

    from facemotion.inference.weights import resolve_model
    from facemotion.models.finetune import pretrained_model, restore_batchnorm_statistics
    from facemotion.models.from_onnx import model_from_onnx

    ensemble, _, _ = model_from_onnx(resolve_model("fast"))
    model, info = pretrained_model(resolve_model("fast"), ["angry", "disgust", "fear", "happy", "sad", "surprise",
                                                          "neutral"])
    assert info["head"] == "kept"
    x = torch.rand(16, 1, 48, 48) * 255
    before = ensemble.eval()(x)
    restore_batchnorm_statistics(model, x)
    assert torch.allclose(model.eval()(x), before, atol=1e-3)


def test_skip_bad_writes_the_list_into_the_run(tmp_path: Path) -> None:
    data = label_folders(tmp_path / "faces", per_label=6)
    (data / "neutral" / "readme.txt").write_text("hello")
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "refused"), *QUICK])
    assert result.exit_code == 2 and "neutral/readme.txt" in result.output and "--skip-bad" in result.output
    assert not (tmp_path / "refused" / "last.pt").exists()
    train("--data", data, "--out", tmp_path / "run", "--skip-bad", "--val-fraction", "0.34", *QUICK)
    assert "neutral/readme.txt" in (tmp_path / "run" / "skipped.csv").read_text()


def test_init_accurate_starts_from_its_best_member(tmp_path: Path) -> None:
    from facemotion.inference.weights import model_card

    data = label_folders(tmp_path / "faces", per_label=4)
    train("--data", data, "--out", tmp_path / "run", "--init", "accurate", "--epochs", "1", "--batch-size", "16",
          "--threads", "1", "--no-progress", "--val-fraction", "0.25")
    scores = [m["training"]["selected_val_accuracy"] for m in model_card("accurate")["members"]]
    init = json.loads((tmp_path / "run" / "config.json").read_text())["init"]
    assert init["member"] == scores.index(max(scores)) and init["head"] == "new"


def test_init_member_picks_that_network_of_the_ensemble() -> None:
    import torch

    from facemotion.inference.weights import resolve_model
    from facemotion.labels import EMOTIONS
    from facemotion.models.finetune import pretrained_model
    from facemotion.models.from_onnx import model_from_onnx
    from facemotion.training.init_weights import resolve_init

    path, member = resolve_init("accurate[1]")
    assert path == resolve_model("accurate") and member == 1
    ensemble, _, _ = model_from_onnx(path)
    model, info = pretrained_model(path, EMOTIONS, member=member)
    x = torch.rand(8, 1, 48, 48) * 255
    assert info["member"] == 1
    assert torch.allclose(model.eval()(x), ensemble.members[1].eval()(x), atol=1e-4)
    assert not torch.allclose(model(x), ensemble.members[0].eval()(x), atol=1e-2)


@pytest.mark.parametrize(("init", "message"), [("accurate[7]", "no such member"),
                                               ("accurate[0,1]", "picks one member")])
def test_init_with_a_wrong_member_is_refused(tmp_path: Path, init: str, message: str) -> None:
    data = label_folders(tmp_path / "faces", per_label=4)
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--init", init,
                                 *QUICK])
    assert result.exit_code == 2 and message in result.output and init.split("[")[0] in result.output
    assert not (tmp_path / "run" / "last.pt").exists()


def test_init_with_another_input_contract_is_refused(tmp_path: Path) -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64 * 64, 7))
    foreign = tmp_path / "foreign.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 64, 64),), str(foreign), dynamo=False, input_names=["x"])
    data = label_folders(tmp_path / "faces", per_label=4)
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--init",
                                 str(foreign), *QUICK])
    assert result.exit_code == 2 and "input contract differs" in result.output
    assert not (tmp_path / "run" / "last.pt").exists()


def test_labels_option_on_fer2013_is_refused(tmp_path: Path) -> None:
    from tests.conftest import default_usages, synthetic_images, write_fer_csv

    images, labels = synthetic_images(30)
    fer = write_fer_csv(tmp_path / "fer.csv", images, labels, default_usages(20, 5, 5))
    result = runner.invoke(app, ["train", "--data", str(fer), "--out", str(tmp_path / "run"), "--labels", "a,b",
                                 *QUICK])
    assert result.exit_code == 2 and "own data only" in result.output


def test_probabilities_of_a_custom_model_in_python(own_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from facemotion import Recognizer

    recognizer = Recognizer(str(own_run[2]), "none")
    assert recognizer.labels == LABELS3
    face = recognizer(write_image(tmp_path / "p.png", 1, seed=3))[0]
    assert face.emotion in LABELS3 and abs(sum(face.probabilities.values()) - 1) < 1e-4
    assert np.isclose(face.confidence, max(face.probabilities.values()))
