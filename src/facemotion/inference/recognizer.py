"""The one user-facing object: image in, one typed result per face out (detect -> align -> classify)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from facemotion.checks import is_whole
from facemotion.errors import FacemotionError, NoHeatmapsError
from facemotion.faces import FaceDetector, create_detector, crop_faces, default_margin, detections_from_boxes
from facemotion.faces.align import crop_to_image
from facemotion.faces.detect import DEFAULT_MAX_SIDE
from facemotion.inference.backends import Classifier, ExplainingClassifier, classifier_labels, load_classifier
from facemotion.inference.explain import Explain, explain_labels, face_heatmap
from facemotion.inference.images import DEFAULT_MAX_PIXELS, ChannelOrder, ImageInput, describe_source, load_image
from facemotion.labels import IMAGE_SIZE
from facemotion.types import BoxLike, Detection, FaceResult, ImageResult

__all__ = ["Recognizer"]

logger = logging.getLogger(__name__)


class Recognizer:
    """Finds every face in an image and tells its emotion.

    Example::

        from facemotion import Recognizer

        recognizer = Recognizer()                  # packaged model; YuNet if installed, else Haar
        for face in recognizer("photo.jpg"):       # same as recognizer.predict("photo.jpg")
            print(face.emotion, face.confidence, face.box.to_tuple())
        recognizer.predict(frame_bgr, boxes=[(10, 20, 100, 100)])   # your own face boxes: no detection
        recognizer.predict("photo.jpg", explain=True)[0].heatmap    # where the top label's evidence lies

    Args:
        model: ``"default"``, ``"fast"``, ``"accurate"`` (slowest, strongest), a path to an exported ``.onnx`` (or a
            ``.pt`` checkpoint, which needs torch), or any object with ``predict_proba(crops)``.
        detector: ``"auto"`` (YuNet when its model is installed, else Haar), ``"yunet"``, ``"haar"``, ``"none"``
            (the whole image is one face), or a :class:`~facemotion.faces.FaceDetector`.
        detector_model: path to the YuNet ``.onnx`` (default: ``$FACEMOTION_YUNET_MODEL``, then the user cache).
        min_face_size: ignore faces smaller than this many pixels (None: 20 for a named detector).
        score_threshold: minimum YuNet score in [0, 1] (None: 0.6 for YuNet; Haar gives no score).
        max_faces: keep at most this many faces per image, best first (None: all).
        margin: crop margin as a fraction of the box; None uses the value measured for the detector.
        align: rotate faces upright from the eye landmarks when the detector gives them.
        max_pixels: refuse encoded images with more pixels than this (decompression bombs); None: no limit.
        threads: ONNX Runtime threads for the classifier (0: its default).

    With a detector object, ``min_face_size``, ``score_threshold`` and ``max_faces`` are applied to its detections
    when given (:class:`~facemotion.faces.detect.LimitedDetector`), and the object's own settings hold otherwise.

    One Recognizer may be shared by threads: detection is serialised per detector, the ONNX session is
    thread-safe. ``labels`` holds the model's label names (FER2013's seven for the packaged models); every result's
    ``emotion`` and ``probabilities`` use them.
    """

    def __init__(self, model: str | Path | Classifier = "default", detector: str | FaceDetector = "auto", *,
                 detector_model: str | Path | None = None, min_face_size: int | None = None,
                 score_threshold: float | None = None, max_faces: int | None = None,
                 margin: float | None = None, align: bool = True, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 max_side: int = DEFAULT_MAX_SIDE, threads: int = 0) -> None:
        if margin is not None and not 0.0 <= margin <= 1.0:
            raise FacemotionError(f"margin must be in [0, 1] (a fraction of the face box), got {margin}")
        if max_pixels is not None and not is_whole(max_pixels):
            raise FacemotionError(f"max_pixels must be a whole number >= 1 (or None for no limit), got {max_pixels!r}")
        if not is_whole(threads, 0):
            raise FacemotionError(f"threads must be a whole number >= 0 (0: ONNX Runtime's default), got {threads!r}")
        self.detector = create_detector(detector, model_path=detector_model, score_threshold=score_threshold,
                                        min_face_size=min_face_size, max_faces=max_faces, max_side=max_side)
        if isinstance(model, Classifier):
            self.classifier = model
        else:
            self.classifier = load_classifier(model, threads=threads)
        self.labels: tuple[str, ...] = classifier_labels(self.classifier)
        self.margin = margin
        self.align = align
        self.max_pixels = max_pixels
        logger.debug("recognizer: detector %s, margin %s, align %s", self.detector.name,
                     self._margin_for(self.detector.name), align)

    @property
    def files(self) -> tuple[Path, ...]:
        """The files this recognizer was built from: the model, its card, the detector's model or cascade. A
        command's outputs must be none of them (``predict --csv model.onnx`` would overwrite the model)."""
        from facemotion.cards import card_path

        found: list[Path] = []
        model = getattr(self.classifier, "path", None)
        if model is not None:
            found += [Path(model), card_path(model)]
        detector: object = self.detector
        while detector is not None:  # a LimitedDetector wraps the detector that reads the file
            found += [Path(p) for p in (getattr(detector, "model_path", None), getattr(detector, "cascade_path", None))
                      if p is not None]
            detector = getattr(detector, "base", None)
        return tuple(p for p in found if p.is_file())

    def __repr__(self) -> str:
        model = getattr(self.classifier, "path", type(self.classifier).__name__)
        return (f"Recognizer(model={str(model)!r}, detector={self.detector.name!r}, "
                f"margin={self._margin_for(self.detector.name)}, align={self.align})")

    def __call__(self, image: ImageInput, *, boxes: Sequence[BoxLike] | None = None,
                 channel_order: ChannelOrder = "bgr", explain: Explain = False,
                 detector: FaceDetector | None = None) -> list[FaceResult]:
        return self.predict(image, boxes=boxes, channel_order=channel_order, explain=explain, detector=detector)

    def _margin_for(self, detector_name: str) -> float:
        return self.margin if self.margin is not None else default_margin(detector_name)

    def detect(self, image: np.ndarray, boxes: Sequence[BoxLike] | None = None, *,
               detector: FaceDetector | None = None) -> list[Detection]:
        """The faces to classify in a BGR image: ``boxes`` when given, else those of ``detector`` (default: the
        recognizer's own :attr:`detector`)."""
        if boxes is not None:
            return detections_from_boxes(boxes, image.shape)
        return (self.detector if detector is None else detector).detect(image)

    def _crops(self, image: np.ndarray, boxes: Sequence[BoxLike] | None,
               detector: FaceDetector | None = None) -> tuple[list[Detection], np.ndarray, float]:
        detections = self.detect(image, boxes, detector=detector)
        margin = self._margin_for("boxes" if boxes is not None else (detector or self.detector).name)
        return detections, crop_faces(image, detections, margin=margin, align=self.align), margin

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """``(N, 48, 48)`` uint8 grayscale face crops -> ``(N, K)`` float32 probabilities in :attr:`labels` order."""
        return np.asarray(self.classifier.predict_proba(crops), dtype=np.float32)

    def classify_explained(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and ``(N, K, h, w)`` class activation maps of the crops, from one classifier call."""
        if not isinstance(self.classifier, ExplainingClassifier):
            raise NoHeatmapsError(f"{type(self.classifier).__name__} gives no heatmaps: use an exported facemotion "
                                  f".onnx or a .pt checkpoint")
        probabilities, maps = self.classifier.explain(crops)
        return np.asarray(probabilities, dtype=np.float32), np.asarray(maps, dtype=np.float32)

    def predict(self, image: ImageInput, *, boxes: Sequence[BoxLike] | None = None,
                channel_order: ChannelOrder = "bgr", explain: Explain = False,
                detector: FaceDetector | None = None) -> list[FaceResult]:
        """Every face in one image, best detection first; ``[]`` when there is none.

        Args:
            image: a path, encoded bytes, a NumPy array or a PIL image.
            boxes: your own face boxes ``(x, y, w, h)`` in the image's pixels; detection is skipped.
            channel_order: ``bgr`` (OpenCV) or ``rgb``, for 3- or 4-channel NumPy arrays only.
            explain: give each face a :class:`~facemotion.types.Heatmap`: ``True`` for its top label, ``"all"``
                for every label, or a label name or list of names. ``False`` (the default) costs nothing.
            detector: find the faces of this one call with this detector instead of :attr:`detector` (the crop
                margin is then that of ``detector.name``); the video analyzer passes one that searches only around
                the tracked faces (:meth:`~facemotion.video.regions.RegionDetector.around`).

        Raises:
            ImageError: the image cannot be read (see :func:`~facemotion.inference.images.load_image`).
            NoHeatmapsError: ``explain`` with a model that has no heatmaps (exported before they existed).
            FacemotionError: ``explain`` names an unknown label.
        """
        keep = explain_labels(explain, self.labels)
        bgr = load_image(image, channel_order=channel_order, max_pixels=self.max_pixels)
        detections, crops, margin = self._crops(bgr, boxes, detector)
        if not detections:
            return []
        if keep is None:
            return self._results(bgr, detections, self.classify(crops))  # all faces of the image in one call
        probabilities, maps = self.classify_explained(crops)
        return self._results(bgr, detections, probabilities, maps=maps, keep=keep, margin=margin)

    def predict_batch(self, images: Iterable[ImageInput], *, boxes: Sequence[Sequence[BoxLike] | None] | None = None,
                      channel_order: ChannelOrder = "bgr", explain: Explain = False) -> list[ImageResult]:
        """One :class:`ImageResult` per image, in order; an image that fails gets its ``error`` and the rest go on.

        ``images`` is any iterable (a list, a generator); one image (a path, bytes) is refused rather than read as
        its characters. The faces of all images are classified in one call. ``boxes``, when given, holds one list
        of boxes (or None to detect) per image; ``explain`` is as in :meth:`predict`.
        """
        if isinstance(images, (str, bytes, bytearray, Path)):
            raise FacemotionError(f"predict_batch takes a list of images, got one {type(images).__name__} "
                                  f"({describe_source(images)}); use predict() for one image, or [image]")
        images = list(images)  # read twice below: a generator would be empty the second time
        if boxes is not None and len(boxes) != len(images):
            raise FacemotionError(f"boxes must hold one entry per image: got {len(boxes)} for {len(images)} images")
        keep = explain_labels(explain, self.labels)
        prepared: list[tuple[np.ndarray, list[Detection], float] | str] = []
        all_crops = []
        for i, source in enumerate(images):
            try:
                bgr = load_image(source, channel_order=channel_order, max_pixels=self.max_pixels)
                detections, crops, margin = self._crops(bgr, boxes[i] if boxes is not None else None)
            except FacemotionError as exc:
                prepared.append(str(exc))
                continue
            except Exception as exc:  # an unexpected failure on one image must not cost the others their results
                logger.debug("unexpected error on %s", describe_source(source), exc_info=True)
                prepared.append(f"{describe_source(source)}: {type(exc).__name__}: {exc}")
                continue
            prepared.append((bgr, detections, margin))
            all_crops.append(crops)
        crops = np.concatenate(all_crops) if all_crops else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        maps = None
        if keep is None:
            probabilities = self.classify(crops) if len(crops) else np.zeros((0, len(self.labels)), np.float32)
        else:
            probabilities, maps = self.classify_explained(crops)
        results, start = [], 0
        for source, item in zip(images, prepared):
            path = str(source) if isinstance(source, (str, Path)) else None
            if isinstance(item, str):
                results.append(ImageResult(path, error=item))
                continue
            bgr, detections, margin = item
            end = start + len(detections)
            faces = self._results(bgr, detections, probabilities[start:end],
                                  maps=None if maps is None else maps[start:end], keep=keep, margin=margin)
            start = end
            results.append(ImageResult(path, tuple(faces), width=bgr.shape[1], height=bgr.shape[0]))
        return results

    def _results(self, image: np.ndarray, detections: list[Detection], probabilities: np.ndarray, *,
                 maps: np.ndarray | None = None, keep: tuple[str, ...] | str | None = None,
                 margin: float = 0.0) -> list[FaceResult]:
        height, width = image.shape[:2]
        faces = []
        for i, (detection, probs) in enumerate(zip(detections, probabilities)):
            heatmap = None
            if maps is not None and keep is not None:
                labels = (self.labels[int(np.argmax(probs))],) if keep == "top" else keep
                matrix = crop_to_image(detection, margin=margin, align=self.align)
                heatmap = face_heatmap(maps[i], labels, self.labels, matrix, IMAGE_SIZE)
            faces.append(FaceResult.from_probabilities(detection, probs, box=detection.box.clip(width, height),
                                                       heatmap=heatmap, labels=self.labels))
        return faces
