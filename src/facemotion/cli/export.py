"""``facemotion export``: a checkpoint (or an ensemble) to the ONNX graph and model card that ship."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from facemotion.cli._common import check_outputs, deprecated_alias, exit_on_error, fail, require_torch, setup_logging
from facemotion.cli.app import app
from facemotion.defaults import CALIBRATION_FACES

__all__ = ["export"]


@app.command("export")
def export(
    model: list[Path] = typer.Option([], help="A .pt checkpoint (best.pt of a run) or an exported .onnx with its "
                                              "card; repeat the option to export the ensemble that averages their "
                                              "logits (a graph's own members join one by one; FILE.onnx[1] or "
                                              "[0,2] takes those members only). One .onnx alone is written again "
                                              "with heatmaps, metadata and card kept.",
                                     show_default=False),
    out: Path = typer.Option(..., help="Destination .onnx file; the model card is written beside it as .json. "
                                       "Never one of the --model files: a re-export is written beside its source."),
    calibrate: Optional[Path] = typer.Option(None, help="FER2013 data whose PublicTest split fits the temperature "
                                                        "(checkpoints only: a re-exported .onnx keeps its own "
                                                        "temperature, so there --calibrate serves --int8 alone)."),
    int8: bool = typer.Option(False, "--int8",
                              help="Quantise the graph to 8-bit integers: about twice the faces/s on a CPU and a "
                                   "quarter of the file, for a few hundredths of a point (docs/models.md). Its "
                                   f"activation ranges are measured on {CALIBRATION_FACES:,} Training faces of "
                                   "--calibrate DATA."),
    flip_tta: Optional[bool] = typer.Option(None, "--flip-tta/--no-flip-tta",
                                            help="Average with the mirrored face inside the graph. Default: on for "
                                                 "a checkpoint; as the old graph had it for a re-exported .onnx "
                                                 "(given, it is honoured and recorded in the metadata)."),
    tta_zoom: list[float] = typer.Option([], "--tta-zoom", min=0.5, max=2.0,
                                         help="Also average a centred zoom of the face (and of its mirror, with flip "
                                              "TTA) inside the graph, e.g. 1.08; repeat it for several. Each zoom "
                                              "costs as many network passes again. For a re-exported .onnx, given "
                                              "zooms replace the old graph's.", show_default=False),
    no_tta_zoom: bool = typer.Option(False, "--no-tta-zoom",
                                     help="Re-export an .onnx without the zoomed views its graph has."),
    weights: list[Path] = typer.Option([], "--weights", hidden=True, help="Deprecated spelling of --model."),
) -> None:
    """Export a checkpoint (or an ensemble of them) to ONNX: raw 48x48 pixels in, 7 calibrated probabilities out,
    dynamic batch."""
    setup_logging(False)
    require_torch("facemotion export")
    from facemotion.cards import card_path
    from facemotion.inference.weights import graph_source
    from facemotion.models.export import check_onnx_path

    sources: list[Path] = list(deprecated_alias("--model", "--weights", model, weights, empty=[]))  # type: ignore
    if not sources:
        fail("--model is required: a .pt checkpoint or an exported .onnx (repeat it for an ensemble)")
    from facemotion.models.tta import check_zooms

    with exit_on_error(also=(ValueError,)):
        check_zooms(tta_zoom)
    if no_tta_zoom and tta_zoom:
        fail("--no-tta-zoom and --tta-zoom contradict each other: give one")
    if int8 and calibrate is None:
        fail("--int8 needs --calibrate DATA: the Training faces of DATA set its activation ranges")
    with exit_on_error():  # before anything is written: a .onnx name, not a folder, and no output that is an input
        check_onnx_path(out)
        graphs = [graph_source(s)[0] for s in sources]
        inputs = [*graphs, *(card_path(g) for g in graphs if g.suffix.lower() == ".onnx")]
        check_outputs({"--out": out, "the model card": card_path(out)}, inputs)
    reexport = len(sources) == 1 and sources[0].suffix.lower() == ".onnx" and graph_source(sources[0])[1] is None
    if calibrate is not None and int8:  # quantising comes after the graph is written: check its data first
        from facemotion.training.export_model import check_calibration_data

        with exit_on_error():
            check_calibration_data(calibrate, sources, temperature=not reexport, int8=int8)
    if reexport:
        from facemotion.inference.backends import OnnxClassifier
        from facemotion.models.from_onnx import reexport_onnx
        from facemotion.models.quantize import PRECISION_KEY

        if calibrate is not None and not int8:
            fail(f"--calibrate applies to checkpoint (.pt) exports and --int8 only: the re-export of {sources[0]} "
                 f"keeps the temperature its graph records; leave --calibrate out (or export the run's best.pt)")
        if int8 and OnnxClassifier(sources[0]).metadata.get(PRECISION_KEY) == "int8":
            fail(f"{sources[0]}: is already an int8 graph; quantise the float graph it came from (for a shipped "
                 f"tier, its networks' float files: docs/models.md)")
        with exit_on_error():
            reexport_onnx(sources[0], out, flip_tta=flip_tta, zooms=[] if no_tta_zoom else tta_zoom or None)
            precision = _quantize(out, calibrate, sources) if int8 else ""
        tta = "" if flip_tta is None else f", flip TTA {'on' if flip_tta else 'off'}"
        tta += f", zooms {', '.join(map(str, tta_zoom))}" if tta_zoom else ", no zooms" if no_tta_zoom else ""
        typer.echo(f"wrote {out} with heatmaps{precision} (metadata, temperature and model card of {sources[0]} "
                   f"kept{tta})")
        return
    from facemotion.training.export_model import export_checkpoint

    with exit_on_error():
        card = export_checkpoint(sources, out, calibrate_data=calibrate,
                                 flip_tta=True if flip_tta is None else flip_tta, zooms=tta_zoom)
        precision = _quantize(out, calibrate, sources) if int8 else ""
    typer.echo(f"wrote {out}{precision} ({card['parameters']:,} parameters, temperature {card['temperature']:.3f}) "
               f"and {out.with_suffix('.json')}")


def _quantize(out: Path, data: Optional[Path], sources: list[Path]) -> str:
    """Quantise the written graph in place; the words the summary line gives it."""
    from facemotion.training.export_model import quantize_export

    assert data is not None  # --int8 without --calibrate was refused before anything was written
    record = quantize_export(out, data, sources)
    return f" as int8 (activation ranges from {record['calibration_faces']:,} Training faces)"
