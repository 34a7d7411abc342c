"""``predict --explain DIR`` and ``export --model OLD.onnx``: heatmaps from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from facemotion.cli.main import app


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    return CliRunner()


def photo(folder: Path) -> Path:
    image = np.full((60, 60, 3), 40, np.uint8)
    image[:30, :30] = 220  # a bright corner: hot for neutral in the explaining test model
    path = folder / "face.png"
    cv2.imwrite(str(path), image)
    return path


def test_predict_explain_writes_overlays_and_heatmaps(cli: CliRunner, tmp_path: Path, explaining_onnx: Path) -> None:
    source = photo(tmp_path)
    out, boxes = tmp_path / "explained", tmp_path / "annotated"
    result = cli.invoke(app, ["predict", str(source), "--model", str(explaining_onnx), "--detector", "none",
                              "--explain", str(out), "--annotate", str(boxes)])
    assert result.exit_code == 0, result.stdout + result.stderr
    face = json.loads(result.stdout.splitlines()[0])["faces"][0]
    assert list(face["heatmap"]["maps"]) == [face["emotion"]]
    explained, annotated = cv2.imread(str(out / "face.png")), cv2.imread(str(boxes / "face.png"))
    assert explained.shape == annotated.shape == (60, 60, 3)
    assert not np.array_equal(explained, annotated)  # the heatmap is blended into the --explain copy only


def test_predict_explain_with_an_old_model_says_how_to_re_export(cli: CliRunner, tmp_path: Path,
                                                                 brightness_onnx: Path) -> None:
    result = cli.invoke(app, ["predict", str(photo(tmp_path)), "--model", str(brightness_onnx), "--detector", "none",
                              "--explain", str(tmp_path / "out")])
    assert result.exit_code == 2 and "facemotion export --model" in result.stderr


def test_export_re_exports_an_onnx_with_heatmaps(cli: CliRunner, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from facemotion.models import create_model
    from facemotion.models.export import to_onnx

    torch.manual_seed(0)
    old = to_onnx(create_model("vgg_xs"), tmp_path / "old.onnx", heatmaps=False, metadata={"architecture": "vgg_xs"})
    result = cli.invoke(app, ["export", "--model", str(old), "--out", str(tmp_path / "new.onnx")])
    assert result.exit_code == 0, result.stdout + result.stderr
    from facemotion.inference.backends import OnnxClassifier

    assert OnnxClassifier(tmp_path / "new.onnx").has_heatmaps and not OnnxClassifier(old).has_heatmaps


def test_export_re_export_refuses_bad_destinations_and_calibrate(cli: CliRunner, tmp_path: Path) -> None:
    """A .json --out, the source itself, and --calibrate (which a re-export cannot honour): one-line errors, and
    nothing written or overwritten."""
    torch = pytest.importorskip("torch")
    from facemotion.models import create_model
    from facemotion.models.export import to_onnx

    torch.manual_seed(0)
    old = to_onnx(create_model("vgg_xs"), tmp_path / "old.onnx", heatmaps=False, metadata={"architecture": "vgg_xs"})
    before = old.read_bytes()
    cases = [(["--out", str(tmp_path / "new.json")], "must end in .onnx"),
             (["--out", str(old)], "is the input"),
             (["--out", str(tmp_path / "new.onnx"), "--calibrate", str(tmp_path / "fer.csv")], "--calibrate")]
    for extra, message in cases:
        result = cli.invoke(app, ["export", "--model", str(old), *extra])
        output = result.stdout + result.stderr
        assert result.exit_code != 0 and message in output, output
        assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    assert old.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]
    result = cli.invoke(app, ["export", "--model", str(old), "--out", str(tmp_path / "new.onnx"), "--flip-tta"])
    assert result.exit_code == 0, result.stdout + result.stderr
    import onnx

    assert {p.key: p.value for p in onnx.load(str(tmp_path / "new.onnx")).metadata_props}["flip_tta"] == "true"

    def zooms_of(path: Path) -> str:
        return {p.key: p.value for p in onnx.load(str(path)).metadata_props}["tta_zooms"]

    result = cli.invoke(app, ["export", "--model", str(tmp_path / "new.onnx"), "--out", str(tmp_path / "z.onnx"),
                              "--tta-zoom", "1.08"])
    assert result.exit_code == 0 and "zooms 1.08" in result.stdout, result.stdout + result.stderr
    assert zooms_of(tmp_path / "z.onnx") == "[1.08]"
    result = cli.invoke(app, ["export", "--model", str(tmp_path / "z.onnx"), "--out", str(tmp_path / "kept.onnx")])
    assert result.exit_code == 0 and zooms_of(tmp_path / "kept.onnx") == "[1.08]"
    result = cli.invoke(app, ["export", "--model", str(tmp_path / "z.onnx"), "--out", str(tmp_path / "none.onnx"),
                              "--no-tta-zoom"])
    assert result.exit_code == 0 and zooms_of(tmp_path / "none.onnx") == "[]"
    for extra, message in ((["--tta-zoom", "1"], "differ from 1"), (["--tta-zoom", "1.1", "--tta-zoom", "1.1"],
                                                                    "from each other"),
                           (["--tta-zoom", "1.1", "--no-tta-zoom"], "contradict")):
        result = cli.invoke(app, ["export", "--model", str(old), "--out", str(tmp_path / "bad.onnx"), *extra])
        assert result.exit_code != 0 and message in result.stdout + result.stderr
    assert not (tmp_path / "bad.onnx").exists()
