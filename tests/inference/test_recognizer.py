from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facemotion import EMOTIONS, FaceResult, Recognizer
from facemotion.errors import FacemotionError, ImageError, ModelError
from facemotion.faces import WholeImageDetector
from facemotion.inference.backends import Classifier
from facemotion.inference.weights import packaged_dir
from facemotion.types import Box, Detection, ImageResult
from tests.inference.bad_images import encode, truncated_jpeg


class BrightnessClassifier:
    """Test double: dark crops -> angry, bright crops -> neutral; records the batch size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        self.calls.append(len(crops))
        bright = crops.reshape(len(crops), -1).mean(axis=1) / 255.0
        probs = np.full((len(crops), 7), 0.05, np.float32)
        probs[:, 0] += 0.7 * (1 - bright)
        probs[:, 6] += 0.7 * bright
        return probs / probs.sum(axis=1, keepdims=True)


class FixedDetector:
    """Test double: always the same boxes."""

    name = "fixed"

    def __init__(self, *boxes: Box) -> None:
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(box, 0.9) for box in self.boxes]


def make(detector: object = "none", **kwargs: object) -> tuple[Recognizer, BrightnessClassifier]:
    classifier = BrightnessClassifier()
    return Recognizer(classifier, detector, **kwargs), classifier  # type: ignore[arg-type]


def split_image() -> np.ndarray:
    """Left half black, right half white: a dark face and a bright face for FixedDetector."""
    image = np.zeros((60, 120, 3), np.uint8)
    image[:, 60:] = 255
    return image


def test_one_face_per_detection_with_a_complete_result() -> None:
    recognizer, classifier = make(FixedDetector(Box(0, 0, 60, 60), Box(60, 0, 60, 60)), margin=0.0)
    faces = recognizer.predict(split_image())
    assert [f.emotion for f in faces] == ["angry", "neutral"]
    assert classifier.calls == [2]  # all faces of an image in one call
    for face in faces:
        assert isinstance(face, FaceResult)
        assert tuple(face.probabilities) == EMOTIONS
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert face.confidence == max(face.probabilities.values())
        assert face.detection_score == pytest.approx(0.9)
    record = json.loads(json.dumps([f.to_dict() for f in faces]))
    assert record[1]["box"] == {"x": 60, "y": 0, "w": 60, "h": 60}
    assert list(record[0]) == ["box", "detection_score", "landmarks", "emotion", "confidence", "probabilities"]


def test_call_is_predict_and_boxes_are_clipped_to_the_image() -> None:
    recognizer, _ = make(FixedDetector(Box(-10, -10, 40, 40)))
    [face] = recognizer(split_image())
    assert face.box == Box(0, 0, 30, 30)


def test_no_face_is_an_empty_list_without_a_classifier_call() -> None:
    recognizer, classifier = make(FixedDetector())
    assert recognizer.predict(split_image()) == []
    assert classifier.calls == []


def test_user_boxes_skip_detection() -> None:
    recognizer, _ = make(FixedDetector(Box(0, 0, 1, 1)))
    faces = recognizer.predict(split_image(), boxes=[(70, 5, 40, 40), {"x": 5, "y": 5, "w": 40, "h": 40}])
    assert [f.box.to_tuple() for f in faces] == [(70, 5, 40, 40), (5, 5, 40, 40)]
    assert [f.emotion for f in faces] == ["neutral", "angry"]
    assert all(f.detection_score is None for f in faces)
    with pytest.raises(FacemotionError, match="outside"):
        recognizer.predict(split_image(), boxes=[(500, 500, 10, 10)])


def test_every_input_kind_gives_the_same_answer(tmp_path: Path) -> None:
    recognizer, _ = make()
    rgb = np.zeros((50, 50, 3), np.uint8)
    rgb[..., 0] = 255  # red: gray ~76
    path = tmp_path / "red.png"
    path.write_bytes(encode(Image.fromarray(rgb), "PNG"))
    expected = recognizer.predict(path)[0].probabilities
    for source, order in ((str(path), "bgr"), (path.read_bytes(), "bgr"), (Image.open(path), "bgr"),
                          (rgb, "rgb"), (rgb[..., ::-1], "bgr")):
        [face] = recognizer.predict(source, channel_order=order)  # type: ignore[arg-type]
        assert face.probabilities == pytest.approx(expected, abs=1e-6)
    [wrong_order] = recognizer.predict(rgb, channel_order="bgr")  # blue instead of red: another gray level
    assert wrong_order.probabilities != pytest.approx(expected, abs=1e-3)


def test_predict_raises_image_errors_naming_the_source(tmp_path: Path) -> None:
    recognizer, _ = make()
    with pytest.raises(ImageError, match=r"missing\.jpg: no such file"):
        recognizer.predict(tmp_path / "missing.jpg")


def test_batch_keeps_going_past_bad_items(tmp_path: Path) -> None:
    recognizer, classifier = make()
    bright = np.full((20, 20, 3), 250, np.uint8)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(truncated_jpeg())
    results = recognizer.predict_batch([bright, tmp_path / "missing.jpg", b"", truncated, bright])
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert classifier.calls == [2]  # the faces of all good images in one call
    assert "no such file" in results[1].error and "empty" in results[2].error
    assert "truncated" in results[3].error and results[3].path == str(truncated)
    assert results[0].faces[0].emotion == "neutral" and results[0].width == 20
    assert all(isinstance(r, ImageResult) for r in results)
    json.dumps([r.to_dict() for r in results])


def test_batch_takes_a_generator_and_refuses_one_image() -> None:
    recognizer, _ = make()
    images = (np.full((20, 20, 3), value, np.uint8) for value in (10, 250))
    assert [r.faces[0].emotion for r in recognizer.predict_batch(images)] == ["angry", "neutral"]
    for one in ("photo.jpg", Path("photo.jpg"), b"\xff\xd8"):
        with pytest.raises(FacemotionError, match="predict_batch takes a list of images, got one"):
            recognizer.predict_batch(one)


def test_batch_survives_unexpected_failures() -> None:
    class Flaky:
        name = "flaky"

        def detect(self, image: np.ndarray) -> list[Detection]:
            if image[0, 0, 0] == 1:
                raise RuntimeError("detector crashed")
            return [Detection(Box(0, 0, 10, 10))]

    recognizer, _ = make(Flaky())
    results = recognizer.predict_batch([np.ones((10, 10, 3), np.uint8), np.zeros((10, 10, 3), np.uint8)])
    assert "RuntimeError: detector crashed" in results[0].error and results[1].ok


def test_batch_boxes_per_image() -> None:
    recognizer, _ = make()
    results = recognizer.predict_batch([split_image(), split_image()], boxes=[[(0, 0, 10, 10)], None])
    assert [len(r.faces) for r in results] == [1, 1]
    assert results[0].faces[0].box == Box(0, 0, 10, 10) and results[1].faces[0].box == Box(0, 0, 120, 60)
    with pytest.raises(FacemotionError, match="one entry per image"):
        recognizer.predict_batch([split_image()], boxes=[])


def test_classify_crops() -> None:
    recognizer, _ = make()
    probs = recognizer.classify(np.zeros((3, 48, 48), np.uint8))
    assert probs.shape == (3, 7) and probs.dtype == np.float32 and (probs.argmax(axis=1) == 0).all()


def test_onnx_model_from_a_path(brightness_onnx: Path) -> None:
    assert Recognizer(brightness_onnx, "none", threads=100_000).predict(np.zeros((30, 30, 3), np.uint8))  # capped
    recognizer = Recognizer(brightness_onnx, "none")
    assert isinstance(recognizer.classifier, Classifier)
    assert recognizer.predict(np.full((30, 30, 3), 255, np.uint8))[0].emotion == "neutral"
    assert recognizer.predict(np.zeros((30, 30, 3), np.uint8))[0].emotion == "angry"


def _altered(source: Path, out: Path, change: str) -> Path:
    """The brightness classifier with one thing a foreign graph might have: double pixels in, a fixed batch of 1,
    integer answers out, or an output that fails on the first real input."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    if change == "double input":
        graph.input[0].name = "pixels"
        graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
        graph.node.insert(0, helper.make_node("Cast", ["pixels"], ["crops"], to=TensorProto.FLOAT))
    elif change == "fixed batch":
        for value in (graph.input[0], graph.output[0]):
            value.type.tensor_type.shape.dim[0].dim_value = 1
    elif change in ("integer output", "fails when run"):
        graph.output[0].name = "answer"
        if change == "integer output":
            graph.node.append(helper.make_node("Cast", ["probabilities"], ["answer"], to=TensorProto.INT64))
            graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
        else:  # 7 probabilities per face cannot take the shape (3, -1), computed from the pixels so that it loads
            graph.initializer.extend([numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
                                      numpy_helper.from_array(np.array(3.0, np.float32), "three"),
                                      numpy_helper.from_array(np.array([1], np.int64), "one_long"),
                                      numpy_helper.from_array(np.array([-1], np.int64), "rest")])
            graph.node.extend([helper.make_node("ReduceMax", ["crops"], ["brightest"], keepdims=0),
                               helper.make_node("Mul", ["brightest", "zero"], ["nothing"]),
                               helper.make_node("Add", ["nothing", "three"], ["rows"]),
                               helper.make_node("Cast", ["rows"], ["rows_long"], to=TensorProto.INT64),
                               helper.make_node("Reshape", ["rows_long", "one_long"], ["rows_1d"]),
                               helper.make_node("Concat", ["rows_1d", "rest"], ["target"], axis=0),
                               helper.make_node("Reshape", ["probabilities", "target"], ["answer"])])
    onnx.save(model, str(out))
    return out


@pytest.mark.parametrize("change, message", [
    ("double input", "expected float32 pixels in and probabilities out, got tensor\\(double\\) in"),
    ("integer output", "got tensor\\(float\\) in and tensor\\(int64\\) out"),
    ("fixed batch", "its batch size is fixed \\(1 in, 1 out\\)"),
])
def test_a_graph_of_another_contract_is_refused_when_loaded(brightness_onnx: Path, tmp_path: Path, change: str,
                                                            message: str) -> None:
    with pytest.raises(ModelError, match=f"altered.onnx: .*{message}"):
        Recognizer(_altered(brightness_onnx, tmp_path / "altered.onnx", change), "none")


def test_a_graph_that_fails_when_run_is_a_model_error_naming_it(brightness_onnx: Path, tmp_path: Path) -> None:
    recognizer = Recognizer(_altered(brightness_onnx, tmp_path / "altered.onnx", "fails when run"), "none")
    with pytest.raises(ModelError, match="altered.onnx: inference failed"):
        recognizer.classifier.predict_proba(np.zeros((1, 48, 48), np.uint8))


def test_bad_settings() -> None:
    with pytest.raises(ModelError, match="no such model"):
        Recognizer("nope.onnx", "none")
    with pytest.raises(FacemotionError, match="margin"):
        make(margin=2.0)
    with pytest.raises(FacemotionError, match="unknown detector"):
        make("mtcnn")
    for setting in ("min_face_size", "max_faces"):
        for value in (2.5, float("nan"), float("inf"), True, 0, "3"):
            with pytest.raises(FacemotionError, match=f"{setting} must be a whole number"):
                make("haar", **{setting: value})
    for value in (float("nan"), 1.5, -1):
        with pytest.raises(FacemotionError, match="threads must be a whole number"):
            make("none", threads=value)
    for value in (float("nan"), 2.5, 0, True):
        with pytest.raises(FacemotionError, match="max_pixels must be a whole number"):
            make("none", max_pixels=value)
    assert make("haar", min_face_size=np.int64(30), max_faces=2)[0].detector


class ScoredDetector:
    """Test double: boxes with the scores given, in an arbitrary order."""

    name = "scored"

    def __init__(self, *found: tuple[Box, float | None]) -> None:
        self.found = found

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(box, score) for box, score in self.found]


def test_a_detector_object_gets_the_limits_given_and_keeps_its_own_otherwise() -> None:
    found = ((Box(0, 0, 10, 10), 0.99), (Box(0, 0, 40, 40), 0.5), (Box(60, 0, 50, 50), 0.8),
             (Box(0, 10, 30, 30), None))
    image = split_image()
    mine = ScoredDetector(*found)
    recognizer, _ = make(mine)
    assert recognizer.detector is mine  # no limit given: the object as it is, all four faces
    assert len(recognizer.predict(image)) == 4
    limited, _ = make(mine, min_face_size=20, score_threshold=0.6, max_faces=2)
    assert limited.detector.name == "scored"
    faces = limited.predict(image)
    # 10 px: too small; 0.5: under the threshold; no score: kept; best (score) first, then cut to two
    assert [(f.box.w, f.detection_score) for f in faces] == [(50, 0.8), (30, None)]
    assert [f.box.w for f in make(mine, max_faces=1)[0].predict(image)] == [10]
    with pytest.raises(FacemotionError, match="score_threshold"):
        make(mine, score_threshold=2.0)


def test_predict_takes_a_detector_for_one_call() -> None:
    recognizer, _ = make(FixedDetector(Box(0, 0, 60, 60)))
    other = FixedDetector(Box(60, 0, 60, 60), Box(0, 0, 30, 30))
    assert [f.box for f in recognizer.predict(split_image(), detector=other)] == [Box(60, 0, 60, 60),
                                                                                  Box(0, 0, 30, 30)]
    assert [f.box for f in recognizer(split_image())] == [Box(0, 0, 60, 60)]  # its own detector is unchanged


def test_default_margin_follows_the_detector() -> None:
    from facemotion.faces import default_margin

    recognizer, _ = make(WholeImageDetector())
    assert recognizer._margin_for("none") == default_margin("none")
    assert make(margin=0.3)[0]._margin_for("none") == 0.3


@pytest.mark.integration
@pytest.mark.parametrize("detector", ["yunet", "haar"])
def test_shared_photos(detector: str, media_dir: Path, yunet_path: Path, brightness_onnx: Path) -> None:
    recognizer = Recognizer(brightness_onnx, detector, detector_model=yunet_path)
    [justin] = recognizer.predict(media_dir / "justin.jpg")
    assert (justin.landmarks is not None) == (detector == "yunet")
    assert recognizer.predict(media_dir / "no-faces.jpg") == []
    assert len(recognizer.predict(media_dir / "solvay_conference.jpg")) >= 5


@pytest.mark.integration
@pytest.mark.skipif(not (packaged_dir() / "default.onnx").is_file(), reason="the packaged default.onnx is not built")
def test_packaged_model_reads_a_smile(media_dir: Path) -> None:
    [justin] = Recognizer("default", "haar").predict(media_dir / "justin.jpg")
    assert "happy" in [emotion for emotion, _ in justin.top_k(2)]
