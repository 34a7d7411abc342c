"""Rebuilding torch models from exported graphs (BatchNorm folded away), and re-exporting them with heatmaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from facemotion.errors import ModelError
from facemotion.models import LogitEnsemble, create_model
from facemotion.models.export import to_onnx, write_metadata
from facemotion.models.from_onnx import model_from_onnx, reexport_onnx


def trained_like(name: str, seed: int = 0, **kwargs: object) -> torch.nn.Module:
    """A model with non-trivial BatchNorm statistics and affine parameters, as after training."""
    torch.manual_seed(seed)
    model = create_model(name, **kwargs).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def probabilities(path: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["probabilities"], {"pixels": x})[0]


def crops() -> np.ndarray:
    return (np.random.default_rng(0).random((6, 1, 48, 48)) * 255).astype(np.float32)


@pytest.mark.parametrize(("name", "kwargs"), [("vgg_xs", {}), ("mini_xception", {}), ("vgg_s", {"width": 4})])
def test_a_graph_rebuilds_its_model(tmp_path: Path, name: str, kwargs: dict) -> None:
    model = trained_like(name, **kwargs)
    path = to_onnx(model, tmp_path / "m.onnx", heatmaps=False,
                   metadata={"architecture": name})
    (tmp_path / "m.json").write_text(json.dumps({"architecture": name, "architecture_kwargs": kwargs}))
    rebuilt, metadata, card = model_from_onnx(path)
    assert metadata["architecture"] == name and card["architecture_kwargs"] == kwargs
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def without_layer_order(path: Path) -> Path:
    """The graph as exported before its metadata named the layers' order (the shipped tiers are such graphs)."""
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    write_metadata(path, {k: v for k, v in metadata.items() if k != "layer_order"})
    return path


def test_an_older_ensemble_is_rebuilt_from_its_card_in_node_order(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_xs", 2)]).eval()
    path = without_layer_order(to_onnx(model, tmp_path / "e.onnx", flip_tta=True,
                                       metadata={"architecture": "ensemble"}))
    with pytest.raises(ModelError, match="neither lists any"):
        model_from_onnx(path)
    (tmp_path / "e.json").write_text(json.dumps({"members": [{"architecture": "vgg_xs"}] * 2}))
    rebuilt, _, _ = model_from_onnx(path)
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def test_an_ensemble_whose_metadata_lists_its_members_needs_no_card(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_s", 2, width=4)]).eval()
    members = [{"architecture": "vgg_xs"}, {"architecture": "vgg_s", "architecture_kwargs": {"width": 4}}]
    path = to_onnx(model, tmp_path / "e.onnx", metadata={"architecture": "ensemble", "members": members})
    rebuilt, _, card = model_from_onnx(path)
    assert card == {}
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def test_one_network_rebuilds_from_its_metadata_alone_which_wins_over_the_card(tmp_path: Path) -> None:
    from facemotion.labels import EMOTIONS
    from facemotion.models.finetune import pretrained_model

    model = trained_like("vgg_s", width=4)
    path = to_onnx(model, tmp_path / "m.onnx", heatmaps=False,
                   metadata={"architecture": "vgg_s", "architecture_kwargs": {"width": 4}})
    (tmp_path / "m.json").write_text(json.dumps({"architecture": "vgg_s", "architecture_kwargs": {"width": 16}}))
    rebuilt, _, _ = model_from_onnx(path)
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)
    (tmp_path / "m.json").unlink()
    _, info = pretrained_model(path, EMOTIONS)  # --init records the arguments it was built with
    assert info["architecture"] == "vgg_s" and info["architecture_kwargs"] == {"width": 4}


@pytest.mark.parametrize("members", ['["vgg_xs"]', '[{"arch": "vgg_xs"}]',
                                     '[{"architecture": "vgg_xs", "architecture_kwargs": null}]'])
def test_malformed_members_metadata_is_a_model_error_naming_the_entry(tmp_path: Path, members: str) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1)]).eval()
    path = to_onnx(model, tmp_path / "e.onnx", heatmaps=False, metadata={"architecture": "ensemble"})
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    write_metadata(path, {**metadata, "members": members})
    with pytest.raises(ModelError, match="e.onnx: metadata 'members', entry 0 must be an object"):
        model_from_onnx(path)


def test_unbuildable_arguments_in_the_metadata_are_a_model_error_naming_the_network(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1)]).eval()
    path = to_onnx(model, tmp_path / "e.onnx", heatmaps=False, metadata={
        "architecture": "ensemble", "members": [{"architecture": "vgg_s", "architecture_kwargs": {"width": 0}}]})
    with pytest.raises(ModelError, match=r"e.onnx: network 0 \(vgg_s with \{'width': 0\}\) cannot be built"):
        model_from_onnx(path)


@pytest.mark.parametrize(("card_members", "message"), [
    ([{"architecture": "vgg_xs"}], "describes 1 networks but the graph holds 2"),
    ([{"architecture": "vgg_xs"}, {"architecture": "mini_xception"}], "network 1 is a vgg_xs in the graph but a "
                                                                      "mini_xception in its model card")])
def test_a_card_that_describes_other_networks_lends_them_no_records(tmp_path: Path, card_members: list,
                                                                    message: str) -> None:
    from facemotion.labels import EMOTIONS
    from facemotion.models.finetune import pretrained_model

    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_xs", 2)]).eval()
    path = to_onnx(model, tmp_path / "e.onnx", heatmaps=False,
                   metadata={"architecture": "ensemble", "members": [{"architecture": "vgg_xs"}] * 2})
    (tmp_path / "e.json").write_text(json.dumps({"architecture": "ensemble", "members": card_members}))
    with pytest.raises(ModelError, match=f"e.onnx: .*{message}"):
        pretrained_model(path, EMOTIONS)  # --init ranks the members by the card's scores


def test_reexporting_an_older_graph_records_its_structure(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_s", 2, width=4)]).eval()
    old = without_layer_order(to_onnx(model, tmp_path / "old.onnx", heatmaps=False,
                                      metadata={"architecture": "ensemble"}))
    members = [{"architecture": "vgg_xs", "architecture_kwargs": {}},
               {"architecture": "vgg_s", "architecture_kwargs": {"width": 4}}]
    (tmp_path / "old.json").write_text(json.dumps({"architecture": "ensemble", "members": members}))
    new = reexport_onnx(old, tmp_path / "out" / "new.onnx")
    (tmp_path / "out" / "new.json").unlink()
    metadata = {p.key: p.value for p in onnx.load(str(new)).metadata_props}
    assert json.loads(metadata["members"]) == members and "layer_order" in metadata
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(model_from_onnx(new)[0](x), model(x), atol=1e-4, rtol=1e-4)


def reversed_nodes(path: Path, *, keep_layer_order: bool = True) -> Path:
    """The graph with its nodes in reverse order, as a graph-rewriting tool might leave them (a reader that pairs
    weights with layers by position then reads them backwards)."""
    proto = onnx.load(str(path))
    nodes = list(proto.graph.node)[::-1]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    if not keep_layer_order:
        kept = [p for p in proto.metadata_props if p.key != "layer_order"]
        del proto.metadata_props[:]
        proto.metadata_props.extend(kept)
    out = path.with_name(f"reversed-{keep_layer_order}.onnx")
    onnx.save(proto, str(out))
    return out


def test_layers_are_read_in_the_order_the_metadata_names_not_by_node_position(tmp_path: Path) -> None:
    model = LogitEnsemble([trained_like("vgg_xs", 1), trained_like("vgg_xs", 2)]).eval()
    path = to_onnx(model, tmp_path / "e.onnx", heatmaps=False,
                   metadata={"architecture": "ensemble", "members": [{"architecture": "vgg_xs"}] * 2})
    rebuilt, _, _ = model_from_onnx(reversed_nodes(path))
    x = torch.from_numpy(crops())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)
    with pytest.raises(ModelError, match="layer 0 is"):  # without the record, position decides, and is wrong
        model_from_onnx(reversed_nodes(path, keep_layer_order=False))


def test_a_layer_order_with_an_entry_that_is_not_a_name_is_a_model_error(tmp_path: Path) -> None:
    path = to_onnx(trained_like("vgg_xs"), tmp_path / "m.onnx", heatmaps=False, metadata={"architecture": "vgg_xs"})
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    write_metadata(path, {**metadata, "layer_order": json.dumps([*json.loads(metadata["layer_order"]), 3])})
    with pytest.raises(ModelError, match="entry 9 is not a node output name"):
        model_from_onnx(path)


def test_a_layer_order_that_does_not_match_the_graph_is_a_model_error(tmp_path: Path) -> None:
    path = to_onnx(trained_like("vgg_xs"), tmp_path / "m.onnx", heatmaps=False, metadata={"architecture": "vgg_xs"})
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    write_metadata(path, {**metadata, "layer_order": json.dumps(json.loads(metadata["layer_order"])[1:])})
    with pytest.raises(ModelError, match="m.onnx: metadata 'layer_order' does not match the graph \\(it leaves "
                                         "out the node that outputs '/.*Conv_output_0'\\): the graph was changed"):
        model_from_onnx(path)


def test_reexport_keeps_metadata_card_and_probabilities(tmp_path: Path) -> None:
    old = to_onnx(trained_like("vgg_xs"), tmp_path / "old.onnx", temperature=0.9, heatmaps=False,
                  metadata={"name": "old", "architecture": "vgg_xs"})
    card = b'{"architecture": "vgg_xs", "note": "kept byte for byte"}\n'
    (tmp_path / "old.json").write_bytes(card)
    new = reexport_onnx(old, tmp_path / "out" / "new.onnx")
    before, after = onnx.load(str(old)), onnx.load(str(new))
    new_metadata = {p.key: p.value for p in after.metadata_props}
    kept = [(p.key, p.value) for p in after.metadata_props if p.key not in ("layer_order", "architecture_kwargs")]
    assert kept == [(p.key, p.value) for p in before.metadata_props if p.key != "layer_order"]
    assert new_metadata["architecture_kwargs"] == "{}"  # the structure it was rebuilt with, now in the graph
    layers = new_metadata["layer_order"]  # the new graph's, not the old one's
    assert json.loads(layers) == [n.output[0] for n in after.graph.node if n.op_type in ("Conv", "Gemm")]
    assert (tmp_path / "out" / "new.json").read_bytes() == card
    assert [o.name for o in after.graph.output] == ["probabilities", "heatmaps"]
    np.testing.assert_allclose(probabilities(new, crops()), probabilities(old, crops()), atol=1e-5)


def test_a_graph_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = to_onnx(trained_like("vgg_xs"), tmp_path / "m.onnx", metadata={"architecture": "mini_xception"})
    with pytest.raises(ModelError, match="layer|Conv/Gemm"):
        model_from_onnx(path)
    bare = to_onnx(trained_like("vgg_xs"), tmp_path / "bare.onnx")
    with pytest.raises(ModelError, match="names no architecture"):
        model_from_onnx(bare)


# ---- re-export: refused destinations, atomic writes, flip TTA; malformed cards and labels ------------------------

def _old_graph(tmp_path: Path) -> Path:
    return to_onnx(trained_like("vgg_xs"), tmp_path / "old.onnx", heatmaps=False, metadata={"architecture": "vgg_xs"})


def test_reexport_refuses_a_name_that_is_not_onnx_before_writing(tmp_path: Path) -> None:
    old = _old_graph(tmp_path)
    with pytest.raises(ModelError, match=r"new.json: the exported model must end in .onnx"):
        reexport_onnx(old, tmp_path / "new.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]


def test_reexport_refuses_its_own_source_even_through_a_link(tmp_path: Path) -> None:
    old = _old_graph(tmp_path)
    before = old.read_bytes()
    (tmp_path / "link.onnx").symlink_to(old)
    for out in (old, tmp_path / "link.onnx", tmp_path / "." / "old.onnx"):
        with pytest.raises(ModelError, match="is the source graph"):
            reexport_onnx(old, out)
    assert old.read_bytes() == before


def test_reexport_writes_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import facemotion.models.export as export_module

    old = _old_graph(tmp_path)
    out = tmp_path / "new.onnx"
    out.write_bytes(b"the previous export")

    def broken(path: Path, props: dict) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_metadata", broken)
    with pytest.raises(OSError, match="disk full"):
        reexport_onnx(old, out)
    assert out.read_bytes() == b"the previous export"  # never half written, and no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.onnx", "old.onnx"]


@pytest.mark.parametrize("flip_tta", [True, False])
def test_reexport_honours_flip_tta(tmp_path: Path, flip_tta: bool) -> None:
    model = trained_like("vgg_xs")
    old = to_onnx(model, tmp_path / "old.onnx", heatmaps=False, flip_tta=not flip_tta,
                  metadata={"architecture": "vgg_xs"})
    new = reexport_onnx(old, tmp_path / "new.onnx", flip_tta=flip_tta)
    expected = to_onnx(model, tmp_path / "expected.onnx", flip_tta=flip_tta)
    metadata = {p.key: p.value for p in onnx.load(str(new)).metadata_props}
    assert metadata["flip_tta"] == str(flip_tta).lower()
    np.testing.assert_allclose(probabilities(new, crops()), probabilities(expected, crops()), atol=1e-5)
    kept = reexport_onnx(old, tmp_path / "kept.onnx")  # not given: as the old graph had it
    np.testing.assert_allclose(probabilities(kept, crops()), probabilities(old, crops()), atol=1e-5)


def test_reexport_keeps_or_replaces_the_zooms(tmp_path: Path) -> None:
    model = trained_like("vgg_xs")
    old = to_onnx(model, tmp_path / "old.onnx", heatmaps=False, flip_tta=True, zooms=[1.1],
                  metadata={"architecture": "vgg_xs"})
    kept = reexport_onnx(old, tmp_path / "kept.onnx")
    np.testing.assert_allclose(probabilities(kept, crops()), probabilities(old, crops()), atol=1e-5)
    replaced = reexport_onnx(old, tmp_path / "replaced.onnx", zooms=[])
    expected = to_onnx(model, tmp_path / "expected.onnx", flip_tta=True)
    np.testing.assert_allclose(probabilities(replaced, crops()), probabilities(expected, crops()), atol=1e-5)
    assert {p.key: p.value for p in onnx.load(str(replaced)).metadata_props}["tta_zooms"] == "[]"
    assert {p.key: p.value for p in onnx.load(str(kept)).metadata_props}["tta_zooms"] == "[1.1]"


def test_reexport_with_other_views_updates_the_card_and_says_so(tmp_path: Path) -> None:
    old = _old_graph(tmp_path)
    card = {"architecture": "vgg_xs", "flip_tta": False, "metrics": {"test": {"accuracy": 0.7}}}
    (tmp_path / "old.json").write_text(json.dumps(card))
    reexport_onnx(old, tmp_path / "same.onnx")
    assert (tmp_path / "same.json").read_text() == json.dumps(card)  # views unchanged: the card byte for byte
    reexport_onnx(old, tmp_path / "zoomed.onnx", zooms=[1.1])
    written = json.loads((tmp_path / "zoomed.json").read_text())
    assert written["tta_zooms"] == [1.1] and written["flip_tta"] is False and written["metrics"] == card["metrics"]
    assert "measured with flip TTA off and zooms []" in written["views_changed"]
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "same.onnx")).metadata_props}
    assert metadata["tta_zooms"] == "[]" and metadata["flip_tta"] == "false"  # recorded even when the old had none


@pytest.mark.parametrize("zooms", ["1.1", "[0]", '["x"]', "{}", "NaN", "[NaN]", "[1.0]", "[1.1, 1.1]"])
def test_malformed_zoom_metadata_is_a_model_error(tmp_path: Path, zooms: str) -> None:
    old = _old_graph(tmp_path)
    write_metadata(old, {**{p.key: p.value for p in onnx.load(str(old)).metadata_props}, "tta_zooms": zooms})
    with pytest.raises(ModelError, match=r"old.onnx: the graph's test-time views: (tta_zooms must be a JSON list|"
                                         r"zooms must)"):
        reexport_onnx(old, tmp_path / "new.onnx")
    assert not (tmp_path / "new.onnx").exists()


@pytest.mark.parametrize("card, problem", [
    ('{"architecture": "vgg_xs",', "not a readable model card"),
    ("[1, 2]", "not a model card: a list, not an object"),
    ("\xff\xfe", "not a readable model card"),
    ('{"output": ["oops"]}', "not a model card: output is a list, expected an object"),
    ('{"members": ["a"]}', r"not a model card: members\[0\] is a string, not an object"),
    ('{"training": "x"}', "not a model card: training is a string, expected an object"),
    ('{"training": {"config": {"seed": "x"}}}', "training.config.seed is a string, expected an integer"),
    ('{"members": [{"training": {"selected_val_accuracy": "n/a"}}]}',
     r"members\[0\].training.selected_val_accuracy is a string, expected an integer or a number or null"),
])
def test_a_malformed_card_is_a_model_error_naming_it(tmp_path: Path, card: str, problem: str) -> None:
    old = _old_graph(tmp_path)
    (tmp_path / "old.json").write_bytes(card.encode("latin-1"))
    with pytest.raises(ModelError, match=f"old.json: (not a model card: )?{problem}"):
        model_from_onnx(old)


@pytest.mark.parametrize("labels", ['["happy", ', '"happy"', "[]", "[1, 2]"])
def test_malformed_labels_metadata_is_a_model_error_naming_the_graph(tmp_path: Path, labels: str) -> None:
    path = to_onnx(trained_like("vgg_xs"), tmp_path / "m.onnx", heatmaps=False,
                   metadata={"architecture": "vgg_xs"})
    from facemotion.models.export import write_metadata

    write_metadata(path, {"architecture": "vgg_xs", "labels": labels})
    with pytest.raises(ModelError, match=r"m.onnx: metadata 'labels'"):
        model_from_onnx(path)
