"""int8 graphs: they answer as the float graph does, keep its contract, rebuild in torch, and never half-replace."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models.export import to_onnx
from facemotion.models.from_onnx import model_from_onnx, reexport_onnx
from facemotion.models.quantize import CALIBRATION_FACES, calibration_sample, quantize_graph
from facemotion.tiers import PACKAGED_MODELS
from tests.conftest import synthetic_images
from tests.models.test_from_onnx import trained_like


def faces(n: int, seed: int = 0) -> np.ndarray:
    return synthetic_images(n, seed=seed)[0]


def run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"pixels": x[:, None].astype(np.float32)})


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path, Path]:
    root = tmp_path_factory.mktemp("int8")
    model = trained_like("vgg_s")
    source = to_onnx(model, root / "float.onnx", temperature=0.9, flip_tta=True,
                     metadata={"name": "float", "architecture": "vgg_s"})
    (root / "float.json").write_text(json.dumps({"architecture": "vgg_s"}))
    record = quantize_graph(source, root / "int8.onnx", faces(256))
    assert record["precision"] == "int8" and record["calibration_faces"] == 256
    (root / "int8.json").write_text(json.dumps({"architecture": "vgg_s", "quantization": record}))
    return model, source, root / "int8.onnx"


def test_the_int8_graph_answers_as_the_float_one(graphs: tuple[torch.nn.Module, Path, Path]) -> None:
    _, source, int8 = graphs
    x = faces(200, seed=1)
    (p_float, maps_float), (p_int8, maps_int8) = run(source, x), run(int8, x)
    assert p_int8.shape == p_float.shape and maps_int8.shape == maps_float.shape
    np.testing.assert_allclose(p_int8.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(p_int8 - p_float).mean() < 0.01
    assert (p_int8.argmax(axis=1) == p_float.argmax(axis=1)).mean() >= 0.95
    assert int8.stat().st_size < 0.4 * source.stat().st_size


def test_the_int8_graph_keeps_the_metadata_and_says_int8(graphs: tuple[torch.nn.Module, Path, Path]) -> None:
    _, source, int8 = graphs
    before = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
    proto = onnx.load(str(int8))
    after = {p.key: p.value for p in proto.metadata_props}
    assert after == {**before, "precision": "int8"}
    ops = {node.op_type for node in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm"} <= ops
    assert [o.name for o in proto.graph.output] == ["probabilities", "heatmaps"]
    assert stat.S_IMODE(int8.stat().st_mode) == stat.S_IMODE(source.stat().st_mode)  # not the staging file's 0600


def test_an_int8_graph_rebuilds_in_torch_from_its_dequantized_weights(
        graphs: tuple[torch.nn.Module, Path, Path]) -> None:
    model, _, int8 = graphs
    rebuilt, metadata, _ = model_from_onnx(int8)
    x = torch.from_numpy(faces(64, seed=2)[:, None].astype(np.float32))
    with torch.no_grad():
        want, got = model(x), rebuilt(x)
    assert metadata["precision"] == "int8"
    assert (got - want).abs().max() < 0.05 * want.abs().max()  # weights within half a 7-bit step
    assert (got.argmax(1) == want.argmax(1)).float().mean() >= 0.95


def test_a_reexported_int8_graph_is_float_and_its_card_says_so(graphs: tuple[torch.nn.Module, Path, Path],
                                                                 tmp_path: Path) -> None:
    _, _, int8 = graphs
    out = reexport_onnx(int8, tmp_path / "back.onnx")
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert "precision" not in metadata and metadata["temperature"] == "0.9"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["quantization"]["precision"] == "float32" and "int8.onnx" in card["quantization"]["rebuilt_from"]
    assert "QuantizeLinear" not in {node.op_type for node in onnx.load(str(out)).graph.node}


@pytest.mark.parametrize("tier", ["fixture", *PACKAGED_MODELS])
def test_int8_weights_cannot_overflow_the_16_bit_pair_sums_of_cpus_without_vnni(
        graphs: tuple[torch.nn.Module, Path, Path], tier: str) -> None:
    """x86 CPUs without VNNI multiply uint8 activations by int8 weights and add pairs in int16 (saturating): with
    every weight within +-64, a pair is at most 2 x 255 x 64 = 32,640 <= 32,767, so they compute the integers this
    project's VNNI machine does, and the shipped tiers' accuracy holds there."""
    from onnx import numpy_helper

    from facemotion.inference.weights import resolve_model

    path = graphs[2] if tier == "fixture" else resolve_model(tier)
    proto = onnx.load(str(path))
    weights = [numpy_helper.to_array(t) for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert weights and {p.key: p.value for p in proto.metadata_props}.get("precision") == "int8"
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64


def test_an_int8_graph_is_not_quantised_twice(graphs: tuple[torch.nn.Module, Path, Path], tmp_path: Path) -> None:
    _, _, int8 = graphs
    with pytest.raises(ModelError, match="already an int8 graph"):
        quantize_graph(int8, tmp_path / "twice.onnx", faces(8))
    assert not (tmp_path / "twice.onnx").exists()


def test_the_int8_graph_must_be_an_onnx_file(graphs: tuple[torch.nn.Module, Path, Path], tmp_path: Path) -> None:
    _, source, _ = graphs
    card = tmp_path / "float.json"
    card.write_text("{}")
    with pytest.raises(ModelError, match=r"float.json: the int8 graph must be written to a .onnx file"):
        quantize_graph(source, card, faces(8))
    assert card.read_text() == "{}"


def test_calibration_faces_must_be_faces(graphs: tuple[torch.nn.Module, Path, Path], tmp_path: Path) -> None:
    _, source, _ = graphs
    for bad in (np.zeros((0, 48, 48), np.uint8), np.zeros((4, 32, 32), np.uint8)):
        with pytest.raises(ModelError, match="N x 48 x 48 faces"):
            quantize_graph(source, tmp_path / "bad.onnx", bad)
    assert not (tmp_path / "bad.onnx").exists()


def test_a_failed_quantisation_leaves_the_graph_it_would_replace(graphs: tuple[torch.nn.Module, Path, Path],
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime.quantization as quantization

    _, source, _ = graphs
    target = tmp_path / "float.onnx"
    target.write_bytes(source.read_bytes())

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("calibration blew up")

    monkeypatch.setattr(quantization, "quantize_static", broken)
    with pytest.raises(ModelError, match=r"float.onnx: int8 quantisation failed \(calibration blew up\)"):
        quantize_graph(target, target, faces(8))
    assert target.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["float.onnx"]


def test_the_calibration_sample_is_a_fixed_draw() -> None:
    many = np.arange(3000 * 4, dtype=np.float32).reshape(3000, 2, 2)
    first, again = calibration_sample(many), calibration_sample(many)
    assert len(first) == CALIBRATION_FACES and np.array_equal(first, again)
    assert len(np.unique(first[:, 0, 0])) == CALIBRATION_FACES  # without replacement
    few = many[:10]
    assert calibration_sample(few) is few
    with pytest.raises(ModelError, match="training split is empty"):
        calibration_sample(many[:0])


@pytest.mark.parametrize(("blank_names", "restored"), [(False, True), (True, True), (False, False)])
def test_an_int8_ensemble_with_zoomed_views_rebuilds_member_by_member(tmp_path: Path, blank_names: bool,
                                                                      restored: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The quantiser re-sorts the graph, interleaving members and views; the int8 graph keeps the float order, also
    when the nodes have no names (ONNX allows it: the order is keyed by each node's first output). Left in the
    quantiser's order, it still rebuilds, from the ``layer_order`` its metadata keeps."""
    from facemotion.models import LogitEnsemble, quantize

    if not restored:
        monkeypatch.setattr(quantize, "_restore_node_order", lambda graph, original: None)

    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_xs", 2)]).eval()
    source = to_onnx(model, tmp_path / "e.onnx", flip_tta=True, zooms=[1.08], metadata={"architecture": "ensemble"})
    if blank_names:
        proto = onnx.load(str(source))
        for node in proto.graph.node:
            node.name = ""
        onnx.save(proto, str(source))
    card = json.dumps({"architecture": "ensemble", "members": [{"architecture": "vgg_xs"}] * 2})
    quantize_graph(source, tmp_path / "e8.onnx", faces(128))
    (tmp_path / "e8.json").write_text(card)
    convs = [n.output[0] for n in onnx.load(str(source)).graph.node if n.op_type in ("Conv", "Gemm")]
    int8 = onnx.load(str(tmp_path / "e8.onnx")).graph.node
    in_int8 = [n.output[0] for n in int8 if n.op_type in ("Conv", "Gemm")]
    assert (in_int8 == convs) if restored else (in_int8 != convs and sorted(in_int8) == sorted(convs))
    rebuilt, _, _ = model_from_onnx(tmp_path / "e8.onnx")
    if not restored:  # without layer_order the quantiser's order pairs weights with the wrong layers
        stripped = onnx.load(str(tmp_path / "e8.onnx"))
        kept = [p for p in stripped.metadata_props if p.key != "layer_order"]
        del stripped.metadata_props[:]
        stripped.metadata_props.extend(kept)
        onnx.save(stripped, str(tmp_path / "stripped.onnx"))
        (tmp_path / "stripped.json").write_text(card)
        with pytest.raises(ModelError):
            model_from_onnx(tmp_path / "stripped.onnx")
    x = torch.from_numpy(faces(64, seed=3)[:, None].astype(np.float32))
    with torch.no_grad():
        want, got = model(x), rebuilt(x)
    assert (got - want).abs().max() < 0.05 * want.abs().max()
    np.testing.assert_allclose(run(tmp_path / "e8.onnx", faces(32))[0].sum(axis=1), 1.0, atol=1e-5)
