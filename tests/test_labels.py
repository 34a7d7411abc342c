"""Label names travel with the model: any two or more names work everywhere a FER2013 model's seven do."""

from __future__ import annotations

import pytest

from facemotion.inference.annotate import EMOTION_COLORS, label_color
from facemotion.labels import EMOTIONS, RESERVED_NAMES, check_labels
from facemotion.types import Box, Detection, FaceResult
from facemotion.video.writers import CSV_COLUMNS, csv_columns


def test_check_labels_refuses_what_breaks_columns_and_options() -> None:
    assert check_labels(["a", "b"]) == ("a", "b")
    for bad, match in ((["a"], "at least two"), (["a", "a"], "distinct"), (["a,b", "c"], "commas"),
                       (["", "b"], "non-empty"), ([" a", "b"], "spaces"), (["x", "error"], "share a name"),
                       (["happy", "raw_happy"], r"\['raw_happy'\] would share a name with a column")):
        with pytest.raises(ValueError, match=match):
            check_labels(bad)


def test_the_reserved_names_are_every_other_column_of_the_result_tables() -> None:
    from facemotion.inference.rows import image_columns

    labels = ("calm", "glad")
    others = {c for c in (*image_columns(labels), *csv_columns(labels)) if c not in labels}
    assert {c for c in others if not c.startswith("raw_")} | {"raw_emotion"} == set(RESERVED_NAMES)


def test_face_result_takes_the_model_labels() -> None:
    face = FaceResult.from_probabilities(Detection(Box(0, 0, 4, 4)), [0.2, 0.7, 0.1],
                                         labels=("negative", "neutral", "positive"))
    assert face.emotion == "neutral" and list(face.to_dict(top_k=2)["probabilities"]) == ["negative", "neutral",
                                                                                             "positive"]
    with pytest.raises(ValueError, match="expected 3 probabilities"):
        FaceResult.from_probabilities(Detection(Box(0, 0, 4, 4)), [0.5, 0.5], labels=("a", "b", "c"))
    with pytest.raises(ValueError, match="unknown emotion"):
        FaceResult(Box(0, 0, 1, 1), "happy", 1.0, {"a": 0.5, "b": 0.5})


def test_seven_label_outputs_are_unchanged() -> None:
    assert CSV_COLUMNS == csv_columns(EMOTIONS)
    assert csv_columns(("x", "y"))[10:] == ("x", "y", "raw_emotion", "raw_x", "raw_y")
    assert all(label_color(e) == EMOTION_COLORS[e] for e in EMOTIONS)
    assert label_color("contempt") == label_color("contempt") and len(label_color("contempt")) == 3


def test_graph_labels_are_checked_against_its_outputs() -> None:
    import json

    from facemotion.errors import ModelError
    from facemotion.inference.backends import labels_from_metadata

    assert labels_from_metadata({}, 7, "m.onnx") == EMOTIONS
    assert labels_from_metadata({"labels": json.dumps(["a", "b", "c"])}, 3, "m.onnx") == ("a", "b", "c")
    with pytest.raises(ModelError, match="metadata 'labels': the model has 3 outputs but names 2 labels"):
        labels_from_metadata({"labels": json.dumps(["a", "b"])}, 3, "m.onnx")
    with pytest.raises(ModelError, match="names no labels"):
        labels_from_metadata({}, 3, "m.onnx")
    with pytest.raises(ModelError, match="JSON list"):
        labels_from_metadata({"labels": "a,b"}, 2, "m.onnx")


@pytest.mark.parametrize(("names", "outputs", "message"), [
    (None, 3, "3 outputs but names no labels"),
    (["a", "b"], 3, "3 outputs but names 2 labels"),
    ("abc", 3, "must be a list of two or more names"),
    (["a"], 1, "at least two labels"),
    ([], 7, "at least two labels"),
    (["a", "a"], 2, "must be distinct"),
    (["face", "b"], 2, "share a name with a column"),
])
def test_every_model_reader_applies_one_label_rule(names: object, outputs: int, message: str) -> None:
    from facemotion.errors import ModelError
    from facemotion.labels import declared_labels

    with pytest.raises(ModelError, match=message):
        declared_labels(names, outputs, source="m.pt: config labels")


def test_declared_labels_default_to_fer2013_only_for_seven_outputs() -> None:
    from facemotion.labels import declared_labels

    assert declared_labels(None, 7, source="m") == declared_labels(None, None, source="m") == EMOTIONS
    assert declared_labels(("calm", "tense"), 2, source="m") == ("calm", "tense")
