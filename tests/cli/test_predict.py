from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from facemotion.cli.predict import expand_inputs
from facemotion.labels import EMOTIONS
from tests.inference.bad_images import write_bad_files


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from facemotion.cli.main import app

    return app  # the real one, every command registered at import


def run(app: typer.Typer, *args: object) -> tuple[int, list[dict], str]:
    """Exit code, the JSON lines on stdout, and stderr."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """dark.png and bright.png in a folder, bright2.jpg in a subfolder: 'faces' for --detector none."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    cv2.imwrite(str(root / "dark.png"), np.full((40, 40, 3), 10, np.uint8))
    cv2.imwrite(str(root / "bright.png"), np.full((40, 40, 3), 250, np.uint8))
    cv2.imwrite(str(root / "sub" / "bright2.jpg"), np.full((40, 40, 3), 250, np.uint8))
    (root / "readme.txt").write_text("not an image, and skipped in folders")
    return root


def test_expand_inputs(photos: Path) -> None:
    paths = [p for p, _ in expand_inputs([str(photos)])]
    assert paths == [str(photos / "bright.png"), str(photos / "dark.png")]
    deep = [p for p, _ in expand_inputs([str(photos)], recursive=True)]
    assert str(photos / "sub" / "bright2.jpg") in deep and len(deep) == 3
    globbed = expand_inputs([str(photos / "*.png"), str(photos / "dark.png"), str(photos / "**" / "*.jpg")])
    assert [p for p, _ in globbed] == [str(photos / "bright.png"), str(photos / "dark.png"),
                                       str(photos / "sub" / "bright2.jpg")]
    [(_, error)] = expand_inputs([str(photos / "*.gif")])
    assert "no files match" in error
    (photos / "nested" / "deeper").mkdir(parents=True)
    cv2.imwrite(str(photos / "nested" / "deeper" / "x.png"), np.zeros((4, 4, 3), np.uint8))
    [(_, error)] = expand_inputs([str(photos / "nested")])
    assert "no image files" in error and "--recursive" in error
    assert expand_inputs(["missing.jpg"]) == [("missing.jpg", None)]  # reported by the loader


def test_an_empty_input_name_is_an_error_not_the_current_folder(photos: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(photos)  # where "" would have found dark.png and bright.png
    for empty in ("", "  "):
        [(path, error)] = expand_inputs([empty])
        assert path == empty and error == "an empty input name: give a file, folder or pattern"


def test_json_lines(app: typer.Typer, photos: Path, brightness_onnx: Path) -> None:
    code, lines, _ = run(app, "predict", photos, "--model", brightness_onnx, "--detector", "none")
    assert code == 0
    assert [Path(r["path"]).name for r in lines] == ["bright.png", "dark.png"]
    assert [r["faces"][0]["emotion"] for r in lines] == ["neutral", "angry"]
    face = lines[0]["faces"][0]
    assert set(face) == {"box", "detection_score", "landmarks", "emotion", "confidence", "probabilities"}
    assert list(face["probabilities"]) == list(EMOTIONS) and lines[0]["error"] is None
    assert lines[0]["width"] == 40 and face["box"] == {"x": 0, "y": 0, "w": 40, "h": 40}


def test_bad_inputs_are_reported_per_file(app: typer.Typer, photos: Path, tmp_path: Path,
                                          brightness_onnx: Path) -> None:
    bad = write_bad_files(tmp_path / "bad")
    args = [photos / "dark.png", tmp_path / "missing.jpg", *bad.values(), photos / "bright.png"]
    code, lines, stderr = run(app, "predict", *args, "--model", brightness_onnx, "--detector", "none")
    assert code == 1
    assert len(lines) == len(args)
    errors = {Path(r["path"]).name: r["error"] for r in lines}
    assert errors["dark.png"] is None and errors["bright.png"] is None
    assert "no such file" in errors["missing.jpg"]
    assert "empty" in errors["empty.jpg"] and "not an image" in errors["notes.jpg"]
    assert "truncated" in errors["truncated.jpg"] and "decompression bomb" in errors["bomb.png"]
    assert stderr.count("error:") == len(args) - 2


def test_csv_output(app: typer.Typer, photos: Path, tmp_path: Path, brightness_onnx: Path) -> None:
    out = tmp_path / "out.csv"
    code, lines, _ = run(app, "predict", photos, tmp_path / "missing.jpg", "--csv", out, "--model",
                         brightness_onnx, "--detector", "none")
    assert code == 1 and lines == []
    rows = list(csv.DictReader(out.open()))
    assert [Path(r["path"]).name for r in rows] == ["bright.png", "dark.png", "missing.jpg"]
    assert rows[0]["emotion"] == "neutral" and rows[0]["w"] == "40" and rows[0]["face"] == "0"
    assert float(rows[0]["neutral"]) == pytest.approx(float(rows[0]["confidence"]))
    assert rows[2]["emotion"] == "" and "no such file" in rows[2]["error"]


def test_a_file_name_that_is_not_utf8_keeps_its_row(app: typer.Typer, photos: Path, tmp_path: Path,
                                                     brightness_onnx: Path) -> None:
    shutil.copy(photos / "dark.png", photos / os.fsdecode(b"caf\xe9.png"))
    out = tmp_path / "out.csv"
    code, _, _ = run(app, "predict", photos, "--csv", out, "--model", brightness_onnx, "--detector", "none")
    assert code == 0
    rows = {Path(r["path"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(rows) == {"bright.png", "caf\\xe9.png", "dark.png"}
    assert rows["caf\\xe9.png"]["emotion"] == rows["dark.png"]["emotion"] != ""


def test_annotate_and_top_k(app: typer.Typer, photos: Path, tmp_path: Path, brightness_onnx: Path) -> None:
    out = tmp_path / "annotated"
    code, lines, _ = run(app, "predict", photos / "dark.png", photos / "sub" / "bright2.jpg", "--annotate", out,
                         "--top-k", "3", "--model", brightness_onnx, "--detector", "none")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["bright2.jpg", "dark.png"]
    drawn = cv2.imread(str(out / "dark.png"))
    assert drawn.shape == (40, 40, 3) and drawn.max() > 10  # a box and a label on the dark image
    top = lines[0]["faces"][0]["top_k"]
    assert len(top) == 3 and top[0]["emotion"] == lines[0]["faces"][0]["emotion"]


def test_annotate_and_explain_into_one_folder_spelled_two_ways_keep_both(app: typer.Typer, photos: Path,
                                                                         tmp_path: Path, explaining_onnx: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(app, "predict", photos / "dark.png", "--annotate", "out", "--explain", tmp_path / "out",
                     "--model", explaining_onnx, "--detector", "none")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dark-1.png", "dark.png"]


def test_annotate_decodes_each_file_once(app: typer.Typer, photos: Path, tmp_path: Path, explaining_onnx: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from facemotion.inference import images, recognizer

    decoded: list[str] = []
    real = images.load_image

    def counting(source: object, *args: object, **kwargs: object) -> np.ndarray:
        if isinstance(source, (str, Path)):
            decoded.append(Path(source).name)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(images, "load_image", counting)
    monkeypatch.setattr(recognizer, "load_image", counting)
    code, lines, _ = run(app, "predict", photos / "dark.png", photos / "bright.png", "--annotate",
                         tmp_path / "annotated", "--explain", tmp_path / "explained", "--model", explaining_onnx,
                         "--detector", "none")
    assert code == 0 and [Path(line["path"]).name for line in lines] == ["dark.png", "bright.png"]
    assert sorted(decoded) == ["bright.png", "dark.png"]  # once each, for the result and both copies
    assert (tmp_path / "explained" / "dark.png").is_file() and (tmp_path / "annotated" / "bright.png").is_file()

def test_boxes_file(app: typer.Typer, photos: Path, tmp_path: Path, brightness_onnx: Path) -> None:
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"dark.png": [[0, 0, 20, 20], {"x": 20, "y": 20, "w": 20, "h": 20}]}))
    code, lines, _ = run(app, "predict", photos / "dark.png", photos / "bright.png", "--boxes", boxes,
                         "--model", brightness_onnx, "--detector", "haar")
    assert code == 0
    assert [len(r["faces"]) for r in lines] == [2, 0]  # bright.png is not in the file: detected (no face)
    boxes.write_text("[[1, 2, 3]]")
    code, _, stderr = run(app, "predict", photos / "dark.png", "--boxes", boxes, "--model", brightness_onnx)
    assert code == 2 and "4 numbers" in stderr


def test_setup_errors_exit_2_without_traceback(app: typer.Typer, photos: Path, brightness_onnx: Path) -> None:
    code, _, stderr = run(app, "predict", photos, "--model", "missing.onnx")
    assert code == 2 and "no such model file" in stderr
    code, _, stderr = run(app, "predict", photos, "--model", brightness_onnx, "--detector", "hoar")
    assert code == 2 and "did you mean 'haar'" in stderr


def test_verbose_says_which_detector(app: typer.Typer, photos: Path, brightness_onnx: Path,
                                     monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("FACEMOTION_YUNET_MODEL", raising=False)
    with caplog.at_level("DEBUG"):
        code, _, _ = run(app, "predict", photos / "dark.png", "--model", brightness_onnx, "-v")
    assert code == 0 and "face detector: yunet" in caplog.text  # the wheel ships YuNet: no download needed


def test_download_models_from_a_local_copy(app: typer.Typer, yunet_path: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from facemotion.faces import yunet_model

    monkeypatch.setattr(yunet_model, "download_yunet", functools.partial(yunet_model.download_yunet,
                                                                         url=yunet_path.as_uri()))
    result = CliRunner().invoke(app, ["download-models", "--dest", str(tmp_path / "y.onnx")])
    assert result.exit_code == 0 and Path(result.stdout.strip()) == tmp_path / "y.onnx"
    assert (tmp_path / "y.onnx").read_bytes() == yunet_path.read_bytes()


@pytest.mark.integration
def test_shared_photos_end_to_end_without_torch(media_dir: Path, yunet_path: Path, brightness_onnx: Path,
                                                tmp_path: Path) -> None:
    """The real console entry point, in a fresh interpreter: predicts, and never imports torch."""
    code = (
        "import sys\n"
        "from facemotion.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "assert 'torch' not in sys.modules, 'predict imported torch'\n"
        "sys.exit(status)\n"
    )
    args = ["facemotion", "predict", str(media_dir / "justin.jpg"), str(media_dir / "no-faces.jpg"),
            str(media_dir / "solvay_conference.jpg"), "--model", str(brightness_onnx),
            "--detector-model", str(yunet_path), "--detector", "yunet"]
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = {args!r}\n{code}"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    faces = [len(json.loads(line)["faces"]) for line in proc.stdout.splitlines()]
    assert faces[0] == 1 and faces[1] == 0 and faces[2] >= 5


def test_demo_runs_the_shipped_model_on_the_astronaut(app: typer.Typer) -> None:
    """The README's first command: the packaged model on scikit-image's astronaut, one smiling face."""
    pytest.importorskip("skimage")
    code, records, _ = run(app, "predict", "--demo", "--detector", "haar")
    assert code == 0 and len(records) == 1
    (face,) = records[0]["faces"]
    assert face["emotion"] == "happy"
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-4


def test_no_input_shows_the_help(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["predict"])
    assert result.exit_code == 2 and "--demo" in result.stdout


def test_an_output_that_is_an_input_is_refused_before_writing(app: typer.Typer, photos: Path, tmp_path: Path,
                                                              brightness_onnx: Path) -> None:
    """`predict same --annotate same`, `--csv` naming an input (or a symlink to one): exit 2, the inputs intact."""
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    (tmp_path / "link.png").symlink_to(photos / "dark.png")
    (tmp_path / "linked-folder").symlink_to(photos)
    boxes = tmp_path / "boxes.json"
    boxes.write_text("[]")
    for args, message in [
        ([photos, "--annotate", photos], "annotated copies would be written over the inputs"),
        ([photos / "sub" / "bright2.jpg", "--annotate", tmp_path / "linked-folder" / "sub"], "over the inputs"),
        ([photos / "dark.png", "--csv", photos / "dark.png"], "is the input"),
        ([photos / "dark.png", "--csv", tmp_path / "link.png"], "is the input"),
        ([str(photos / "*.png"), "--csv", photos / "bright.png"], "is the input"),
        ([photos / "dark.png", "--boxes", boxes, "--csv", boxes], "is the input"),
        ([photos / "dark.png", "--csv", photos], "is a folder"),
    ]:
        code, lines, stderr = run(app, "predict", *args, "--model", brightness_onnx, "--detector", "none")
        assert code == 2 and message in stderr and lines == [], (args, code, stderr)
    assert {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()} == before


def test_an_output_that_is_a_model_file_is_refused_before_writing(app: typer.Typer, photos: Path, tmp_path: Path,
                                                                  brightness_onnx: Path, yunet_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """--csv naming the model, its card, or the YuNet file the environment points at: exit 2, each intact."""
    model = tmp_path / "m.onnx"
    shutil.copy(brightness_onnx, model)
    (tmp_path / "m.json").write_text("{}")
    detector = tmp_path / "y.onnx"
    shutil.copy(yunet_path, detector)
    monkeypatch.setenv("FACEMOTION_YUNET_MODEL", str(detector))
    before = {p: p.read_bytes() for p in (model, tmp_path / "m.json", detector)}
    for out, detector_name in [(model, "none"), (tmp_path / "m.json", "none"), (detector, "yunet")]:
        code, lines, stderr = run(app, "predict", photos / "dark.png", "--csv", out, "--model", model, "--detector",
                                  detector_name)
        assert code == 2 and f"--csv {out}: is the input" in stderr, (out, stderr)
    assert {p: p.read_bytes() for p in before} == before


def test_globs_and_folders_list_each_file_once_without_following_symlink_loops(tmp_path: Path) -> None:
    """Two links to their own folder made `loop/**/*.jpg` run for hours (and report an image 41 times with one)."""
    loop = tmp_path / "loop"
    (loop / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.jpg", ".hidden.jpg"):
        cv2.imwrite(str(loop / name), np.zeros((4, 4, 3), np.uint8))
    (loop / "self").symlink_to(loop)
    (loop / "sub" / "up").symlink_to(loop)
    os.mkfifo(loop / "pipe.jpg")
    expected = [str(loop / "a.jpg"), str(loop / "sub" / "b.jpg")]
    assert [p for p, _ in expand_inputs([str(loop / "**" / "*.jpg")])] == expected  # no hidden files, as glob.glob
    assert [p for p, _ in expand_inputs([str(loop)], recursive=True)] == [str(loop / ".hidden.jpg"), *expected]
    assert [p for p, _ in expand_inputs([str(loop / "a.jpg"), str(loop / "self" / "a.jpg")])] == expected[:1]
    [(_, error)] = expand_inputs([str(loop / "pipe.jpg")])
    assert "not a regular file" in error


def test_an_annotated_copy_that_cannot_be_written_is_an_error_in_the_output(
        app: typer.Typer, photos: Path, tmp_path: Path, brightness_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only --annotate folder: exit 1 used to come with `"error": null` in the JSON line."""
    monkeypatch.setattr(cv2, "imwrite", lambda *args: False)  # root writes anywhere: simulate the refusal
    code, lines, stderr = run(app, "predict", photos / "dark.png", "--annotate", tmp_path / "ro", "--model",
                              brightness_onnx, "--detector", "none")
    assert code == 1 and "could not write the annotated image" in lines[0]["error"]
    assert stderr.count("error:") == 1
    out = tmp_path / "rows.csv"
    code, _, _ = run(app, "predict", photos / "dark.png", "--annotate", tmp_path / "ro", "--csv", out, "--model",
                     brightness_onnx, "--detector", "none")
    assert code == 1 and "could not write" in list(csv.DictReader(out.open()))[0]["error"]


def test_hostile_boxes_files(app: typer.Typer, photos: Path, tmp_path: Path, brightness_onnx: Path) -> None:
    """100,000 nested '[' (RecursionError), and a box far larger than the image (11 s and 2.1 GB at 30000x30000):
    a one-line error; a box clipped to the image, classified as that clipped box."""
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000)
    code, _, stderr = run(app, "predict", photos / "dark.png", "--boxes", nested, "--model", brightness_onnx)
    assert code == 2 and "nested too deeply" in stderr and len(stderr.strip().splitlines()) == 1
    for number, message in [("1" + "0" * 400, "box values must be finite"), ("1" * 5000, "cannot read the boxes file")]:
        (tmp_path / "huge.json").write_text(f"[[0, 0, {number}, 40]]")  # too large for a float; over 4,300 digits
        code, _, stderr = run(app, "predict", photos / "dark.png", "--boxes", tmp_path / "huge.json", "--model",
                              brightness_onnx)
        assert code == 2 and message in stderr and len(stderr) < 1000, stderr[:300]
    half = np.full((40, 40, 3), 250, np.uint8)
    half[:, 20:] = 10
    cv2.imwrite(str(tmp_path / "half.png"), half)
    results = []
    for box in ([0, 0, 40, 40], [-2000, -2000, 6000, 6000], [0, 0, 10**9, 10**9]):
        (tmp_path / "b.json").write_text(json.dumps([box]))
        code, lines, stderr = run(app, "predict", tmp_path / "half.png", "--boxes", tmp_path / "b.json", "--model",
                                  brightness_onnx)
        assert code == 0 and stderr == "", stderr
        results.append(lines[0]["faces"][0])
    assert [f["box"] for f in results] == [{"x": 0, "y": 0, "w": 40, "h": 40}] * 3
    assert results[1]["probabilities"] == pytest.approx(results[0]["probabilities"])
    assert results[2]["probabilities"] == pytest.approx(results[0]["probabilities"])


def test_threads_are_capped_at_the_cpu_count(app: typer.Typer, photos: Path, brightness_onnx: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from facemotion.cli._common import CPU_COUNT
    from facemotion.inference import recognizer

    asked: list[int] = []
    real = recognizer.Recognizer

    def spy(*args: object, threads: int = 0, **kwargs: object) -> object:
        asked.append(threads)
        return real(*args, threads=threads, **kwargs)

    monkeypatch.setattr(recognizer, "Recognizer", spy)
    code, lines, _ = run(app, "predict", photos / "dark.png", "--threads", 10_000, "--model", brightness_onnx,
                         "--detector", "none")
    assert code == 0 and len(lines) == 1 and asked == [CPU_COUNT]
    assert "at most the CPU count" in CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "300"}).stdout


def test_verbose_shows_facemotion_debug_lines_only(photos: Path, brightness_onnx: Path, tmp_path: Path) -> None:
    """-v used to set the root logger to DEBUG, so Pillow's `STREAM b'IHDR'` chatter came with it."""
    args = ["facemotion", "predict", str(photos / "dark.png"), "--model", str(brightness_onnx), "--detector",
            "haar", "-v"]
    code = f"import sys; sys.argv = {args!r}\nfrom facemotion.cli.main import main\nmain()\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "recognizer: detector haar" in proc.stderr and "STREAM" not in proc.stderr and "PIL" not in proc.stderr


def test_demo_leaves_nothing_in_the_temporary_folder(app: typer.Typer, brightness_onnx: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile
    import types

    fake = types.ModuleType("skimage")
    fake.data = types.SimpleNamespace(  # type: ignore[attr-defined]
        astronaut=lambda: np.full((64, 64, 3), 200, np.uint8))
    monkeypatch.setitem(sys.modules, "skimage", fake)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    code, lines, _ = run(app, "predict", "--demo", "--model", brightness_onnx, "--detector", "none")
    assert code == 0 and len(lines) == 1 and lines[0]["faces"]
    assert list(temp.iterdir()) == []
