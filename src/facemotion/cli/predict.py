"""``facemotion predict``: the emotions of the faces in photos.

Only typer is imported at module level: NumPy, OpenCV and ONNX Runtime load inside the commands, so
``facemotion --help`` stays fast, and torch is never imported on this path.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TextIO

import typer

from facemotion.cli._common import (
    CPU_COUNT,
    DETECTOR_HELP,
    MODEL_HELP,
    check_outputs,
    describe_os_error,
    exit_on_error,
    fail,
    same_file,
    setup_logging,
)
from facemotion.cli.app import app
from facemotion.defaults import DEFAULT_MAX_PIXELS, DEFAULT_MIN_FACE_SIZE, DEFAULT_SCORE_THRESHOLD
from facemotion.inputs import IMAGE_SUFFIXES, expand_inputs  # one expansion, shared with batch
from facemotion.labels import MAX_TOP_K

if TYPE_CHECKING:
    import numpy as np

    from facemotion.inference.recognizer import Recognizer
    from facemotion.types import ImageResult

__all__ = ["predict", "expand_inputs", "read_boxes_file", "IMAGE_SUFFIXES"]

_WRITABLE = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_CHUNK = 8  # images per predict_batch call: faces of a chunk share one classifier call, output still streams

PREDICT_HELP = """Find the faces in photos and tell the emotion of each: one JSON line per image on stdout.

Examples:

  facemotion predict photo.jpg

  facemotion predict photos/ --recursive --csv emotions.csv

  facemotion predict 'shots/*.png' --annotate annotated/ --top-k 3

  facemotion predict group.jpg --explain explained/  # heatmaps: where each face's emotion was read

  facemotion predict crops/ --detector none          # images that are already face crops

  facemotion predict group.jpg --boxes boxes.json    # your own face boxes (x, y, w, h), no detection

Exit code: 0 when every image was read, 1 when any failed (each is reported), 2 for a bad option or model."""


def read_boxes_file(path: Path) -> Any:
    """``--boxes`` JSON: a list of boxes for every image, or ``{image path or file name: [boxes]}``.

    A box is ``[x, y, w, h]`` or ``{"x", "y", "w", "h"}`` (the ``box`` of predict's own output).
    """
    from facemotion.errors import FacemotionError
    from facemotion.types import Box

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8, or an integer of over 4,300 digits
        raise FacemotionError(f"{path}: cannot read the boxes file ({exc})") from exc
    except RecursionError:  # json nests one Python frame per '[': 100,000 of them overflow the stack
        raise FacemotionError(f"{path}: cannot read the boxes file (nested too deeply)") from None
    lists = data.values() if isinstance(data, dict) else [data]
    for boxes in lists:
        if not isinstance(boxes, list):
            raise FacemotionError(f"{path}: expected a list of boxes or an object of lists, got {boxes!r}")
        for box in boxes:
            try:
                Box.of(box)
            except FacemotionError as exc:
                raise FacemotionError(f"{path}: {exc}") from exc
    return data


def _boxes_for(data: Any, path: str) -> Optional[list]:
    if data is None:
        return None
    if isinstance(data, list):
        return data
    for key in (path, str(Path(path).resolve()), Path(path).name):
        if key in data:
            return data[key]
    return None  # not listed: detect as usual


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _decoded(chunk: list[tuple[str, Optional[str]]],
             recognizer: Recognizer) -> list[tuple[str, Optional[str], Optional[np.ndarray]]]:
    """``(path, error, image)`` for each input, its image decoded here once when annotated copies are drawn: the
    Recognizer is given the array and the copies are drawn on it (the file is read once, not twice)."""
    from facemotion.errors import FacemotionError
    from facemotion.inference.images import load_image

    decoded = []
    for path, error in chunk:
        image = None
        if error is None:
            try:
                image = load_image(path, max_pixels=recognizer.max_pixels)
            except FacemotionError as exc:  # the message predict_batch would give for the path
                error = str(exc)
        decoded.append((path, error, image))
    return decoded


def _annotate_file(result: ImageResult, image: np.ndarray, out_dir: Path, used: set[str], top_k: int, *,
                   heatmaps: bool = False) -> None:
    import cv2

    from facemotion.errors import ImageError
    from facemotion.inference.annotate import annotate

    source = Path(str(result.path))
    suffix = source.suffix.lower() if source.suffix.lower() in _WRITABLE else ".png"
    name, n = f"{source.stem}{suffix}", 1
    while name in used:
        name, n = f"{source.stem}-{n}{suffix}", n + 1
    used.add(name)
    image = annotate(image, result.faces, top_k=top_k, heatmaps=heatmaps)
    target = out_dir / name
    try:
        written = cv2.imwrite(str(target), image)
    except cv2.error as exc:
        raise ImageError(f"{target}: could not write the annotated image ({exc.err})") from None
    if not written:
        raise ImageError(f"{target}: could not write the annotated image (is the folder writable?)")


def predict(
    paths: Optional[list[str]] = typer.Argument(None, help="Image files, folders or quoted glob patterns "
                                                           "('photos/**/*.jpg')."),
    demo: bool = typer.Option(False, "--demo", help="Run on scikit-image's astronaut portrait (demo extra)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look for images in subfolders too."),
    model: str = typer.Option("default", help=MODEL_HELP),
    detector: str = typer.Option("auto", help=DETECTOR_HELP),
    detector_model: Optional[Path] = typer.Option(None, help="YuNet .onnx file (else $FACEMOTION_YUNET_MODEL, "
                                                             "else the one `download-models` installed)."),
    min_face_size: int = typer.Option(DEFAULT_MIN_FACE_SIZE, min=1,
                                      help="Ignore faces smaller than this, in pixels."),
    score_threshold: float = typer.Option(DEFAULT_SCORE_THRESHOLD, min=0.0, max=1.0,
                                          help="Minimum YuNet detection score."),
    max_faces: Optional[int] = typer.Option(None, min=1, help="Keep at most this many faces per image."),
    margin: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Crop margin, fraction of the face box "
                                                                        "(default: measured per detector)."),
    align: bool = typer.Option(True, help="Rotate faces upright from the eye landmarks (YuNet)."),
    boxes: Optional[Path] = typer.Option(None, help="JSON file of your own face boxes; skips detection."),
    csv: Optional[Path] = typer.Option(None, help="Write CSV (one row per face) to this file instead of JSON "
                                                  "lines; '-' for stdout."),
    annotate: Optional[Path] = typer.Option(None, help="Write copies of the images with boxes and labels here."),
    explain: Optional[Path] = typer.Option(None, help="Write copies with each face's heatmap (where its emotion was "
                                                      "read) blended in here; JSON records get 'heatmap'."),
    top_k: int = typer.Option(1, min=1, max=MAX_TOP_K, help="Emotions to list per face (JSON top_k, annotate labels); "
                                                              "at most the model's label count are listed."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, min=1,
                                   help="Refuse images with more pixels (decompression bombs)."),
    threads: int = typer.Option(0, min=0, max=CPU_COUNT, clamp=True,
                                help=f"ONNX Runtime threads (0 = its default; at most the CPU count, {CPU_COUNT} "
                                     f"here)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say which detector runs, and why."),
) -> None:
    """Find the faces in photos and tell the emotion of each (the help shown is PREDICT_HELP)."""
    setup_logging(verbose)
    demo_image: Optional[Path] = None
    try:
        with exit_on_error(os_error=describe_os_error):
            from facemotion.inference.recognizer import Recognizer

            if demo:
                demo_image = _demo_image()
                paths = [*(paths or []), str(demo_image)]
            if not paths:
                fail("give image files, folders or globs (or --demo)")
            items = expand_inputs(paths, recursive=recursive)
            _check_outputs(items, csv=csv, annotate=annotate, boxes=boxes)
            if explain is not None:
                _check_outputs(items, csv=csv, annotate=explain, boxes=boxes, option="--explain")
            box_data = read_boxes_file(boxes) if boxes is not None else None
            recognizer = Recognizer(model, detector, detector_model=detector_model, min_face_size=min_face_size,
                                    score_threshold=score_threshold, max_faces=max_faces, margin=margin, align=align,
                                    max_pixels=max_pixels, threads=threads)
            check_outputs({"--csv": csv}, recognizer.files)
            for folder in (annotate, explain):
                if folder is not None:
                    folder.mkdir(parents=True, exist_ok=True)
            with _open_output(csv) as out:
                failed = _run(recognizer, items, box_data, out, as_csv=csv is not None, annotate_dir=annotate,
                              top_k=top_k, explain_dir=explain)
    finally:
        if demo_image is not None:  # its own temporary folder: nothing is left behind
            shutil.rmtree(demo_image.parent, ignore_errors=True)
    if failed:
        raise typer.Exit(1)


def _check_outputs(items: list[tuple[str, Optional[str]]], *, csv: Optional[Path], annotate: Optional[Path],
                   boxes: Optional[Path], option: str = "--annotate") -> None:
    """Before anything is written: ``--csv`` must not be an input image or the boxes file, and ``--annotate`` must
    not be a folder holding inputs, since the annotated copies take the inputs' names."""
    from facemotion.errors import FacemotionError

    inputs = [Path(path) for path, error in items if error is None and Path(path).is_file()]
    check_outputs({"--csv": csv}, [*inputs, *([boxes] if boxes is not None else [])])
    if annotate is None:
        return
    folder = annotate.resolve()
    clash = next((p for p in inputs if folder in (p.parent.resolve(), p.resolve().parent)), None)
    if clash is not None:
        raise FacemotionError(f"{option} {annotate}: holds the input {clash}; the annotated copies would be "
                              f"written over the inputs, choose another folder")
    if csv is not None and same_file(csv, annotate):
        raise FacemotionError(f"--csv {csv}: is the {option} folder")


def _demo_image() -> Path:
    """scikit-image's public-domain astronaut portrait (Eileen Collins), written to a temporary PNG."""
    import tempfile

    from facemotion.errors import FacemotionError

    try:
        from skimage import data as skimage_data
    except ImportError:
        raise FacemotionError("--demo needs scikit-image: pip install 'facemotion[demo]'") from None
    import cv2

    path = Path(tempfile.mkdtemp(prefix="facemotion-demo-")) / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


class _open_output:
    """stdout, or the CSV file (``-`` is stdout), closed on exit."""

    def __init__(self, csv: Optional[Path]) -> None:
        self.path = csv if csv is not None and str(csv) != "-" else None

    def __enter__(self) -> TextIO:
        self.handle = self.path.open("w", newline="") if self.path is not None else sys.stdout
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            self.handle.close()


def _run(recognizer: Recognizer, items: list[tuple[str, Optional[str]]], box_data: Any, out: TextIO, *,
         as_csv: bool, annotate_dir: Optional[Path], top_k: int, explain_dir: Optional[Path] = None) -> int:
    """Predict every input, writing one record per image as soon as its chunk is done; returns the failure count."""
    import csv as csv_module

    from facemotion.errors import FacemotionError
    from facemotion.inference.rows import image_columns, image_rows, text_cells
    from facemotion.types import ImageResult

    writer = csv_module.writer(out) if as_csv else None
    if writer is not None:
        writer.writerow(image_columns(recognizer.labels))
    failed = 0
    used_names: dict[Path, set[str]] = {}  # annotated copies get unique names, per folder however it is spelled
    drawn = [(folder, folder == explain_dir) for folder in (annotate_dir, explain_dir) if folder is not None]
    for chunk in _chunks(items, _CHUNK):
        decoded = _decoded(chunk, recognizer) if drawn else [(path, error, None) for path, error in chunk]
        todo = [(path, path if image is None else image) for path, error, image in decoded if error is None]
        done = iter(recognizer.predict_batch([source for _, source in todo],
                                             boxes=[_boxes_for(box_data, path) for path, _ in todo],
                                             explain=explain_dir is not None))
        for path, error, image in decoded:
            result = ImageResult(path, error=error) if error is not None else next(done)
            if result.path != path:  # given the decoded array, the Recognizer knows no path
                result = dataclasses.replace(result, path=path)
            for folder, heatmaps in drawn:
                if not result.ok or image is None:
                    break
                try:
                    _annotate_file(result, image, folder, used_names.setdefault(folder.resolve(), set()), top_k,
                                   heatmaps=heatmaps)
                except FacemotionError as exc:  # in the record too, not only on stderr: faces or error, not both
                    result = ImageResult(result.path, width=result.width, height=result.height, error=str(exc))
            if not result.ok:
                failed += 1
                typer.echo(f"error: {result.error}", err=True)
            if writer is not None:
                writer.writerows(text_cells(image_rows(result, recognizer.labels)))
            else:
                out.write(json.dumps(result.to_dict(top_k=top_k)) + "\n")
            out.flush()
    return failed


app.command("predict", help=PREDICT_HELP, no_args_is_help=True)(predict)
