"""The page's JavaScript ports (serving/static/private/*.mjs) give the Python pipeline's answers.

Python computes each case with OpenCV and facemotion's own functions and writes them to JSON; node's built-in
test runner (``tests/serving/js/ports.test.mjs``) runs the ports on the same inputs and compares, pixel for pixel
where the server is exact. Skipped without node. The YuNet case reads the shared photos (integration).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from facemotion.faces.align import crop_faces, crop_to_image, default_margin, face_matrix
from facemotion.faces.detect import (
    DEFAULT_MAX_SIDE,
    DEFAULT_MIN_FACE_SIZE,
    DEFAULT_SCORE_THRESHOLD,
    YUNET_SMALLEST_FACE,
    YuNetDetector,
    _scan,
    scan_scale,
)
from facemotion.faces.yunet_model import PACKAGED_YUNET
from facemotion.types import Box, Detection, Landmarks
from facemotion.video.smoothing import EmaSmoother
from facemotion.video.tracking import IouTracker

NODE = shutil.which("node")
TESTS = Path(__file__).parent / "js" / "ports.test.mjs"
SETTINGS = {"minFaceSize": DEFAULT_MIN_FACE_SIZE, "smallestFace": YUNET_SMALLEST_FACE, "maxSide": DEFAULT_MAX_SIDE,
            "scoreThreshold": DEFAULT_SCORE_THRESHOLD, "nmsThreshold": 0.3}


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth random colour: bilinear sampling differs from nearest on it, unlike on flat or white-noise images."""
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (7, 7), 0)


def rows(image: np.ndarray) -> list:
    return image.reshape(image.shape[0], -1).tolist()


def imaging_case(rng: np.random.Generator) -> dict[str, Any]:
    bgr = photo(rng, 121, 150)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    matrix = face_matrix((70.3, 61.7), 80.4, angle=12.3, size=80)
    warped = cv2.warpAffine(gray, matrix, (80, 80), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    even = np.ascontiguousarray(gray[:120])  # OpenCV's exact 2x2 path needs even sides
    return {"bgr": rows(bgr), "gray": rows(gray), "matrix": matrix.tolist(), "warped": rows(warped),
            "shrunk": rows(cv2.resize(gray, (90, 73), interpolation=cv2.INTER_AREA)),
            "shrunk_bgr": rows(cv2.resize(bgr, (61, 50), interpolation=cv2.INTER_AREA)),
            "even": rows(even), "halved": rows(cv2.resize(even, (75, 60), interpolation=cv2.INTER_AREA))}


def align_case(rng: np.random.Generator) -> dict[str, Any]:
    bgr = photo(rng, 400, 500)
    margin = default_margin("yunet")
    detections = [  # tilted; large (shrunk first); off the edge; no landmarks
        Detection(Box(100, 80, 60, 70), 0.9, Landmarks.from_points([[115, 100], [140, 104], [130, 115], [118, 130],
                                                                   [140, 131]])),
        Detection(Box(200, 50, 260, 300), 0.9, Landmarks.from_points([[260, 150], [380, 120], [330, 200],
                                                                     [280, 260], [370, 250]])),
        Detection(Box(-20, 300, 90, 90), 0.8, Landmarks.from_points([[0, 330], [40, 320], [20, 340], [5, 360],
                                                                    [40, 360]])),
        Detection(Box(10, 10, 30, 25)),
    ]
    crops = crop_faces(bgr, detections, margin=margin)
    faces = [{"detection": {"box": d.box.to_dict(),
                            "landmarks": None if d.landmarks is None else [list(p) for p in d.landmarks.points()]},
              "crop": crop.tolist(), "matrix": crop_to_image(d, margin=margin).tolist()}
             for d, crop in zip(detections, crops)]
    return {"bgr": rows(bgr), "margin": margin, "faces": faces}


def scan_case(rng: np.random.Generator) -> dict[str, Any]:
    settings = {k: SETTINGS[k] for k in ("minFaceSize", "smallestFace", "maxSide")}
    shapes = [(384, 381), (960, 995), (4000, 3000), (30, 5000), (10, 10)]
    scales = [{"shape": list(s), "settings": settings,
               "scale": scan_scale(s, smallest_input_face=DEFAULT_MIN_FACE_SIZE, smallest_face=YUNET_SMALLEST_FACE,
                                   max_side=DEFAULT_MAX_SIDE)} for s in shapes]
    bgr = photo(rng, 101, 77)
    small = _scan(bgr, 0.6)
    h, w = small.shape[:2]
    padded = cv2.copyMakeBorder(small, 0, -h % 32, 0, -w % 32, cv2.BORDER_CONSTANT, value=0)
    blob = cv2.dnn.blobFromImage(padded)
    return {"scales": scales, "input": {"bgr": rows(bgr), "scale": 0.6, "dims": list(blob.shape),
                                        "sum": float(blob.astype(np.float64).sum())}}


def yunet_case(path: Path) -> dict[str, Any]:
    """OpenCV's raw YuNet outputs for a photo, and what FaceDetectorYN plus faces/detect.py made of them."""
    from facemotion.inference.images import load_image

    bgr = load_image(path)
    scale = scan_scale(bgr.shape, smallest_input_face=DEFAULT_MIN_FACE_SIZE, smallest_face=YUNET_SMALLEST_FACE,
                       max_side=DEFAULT_MAX_SIDE)
    small = _scan(bgr, scale)
    h, w = small.shape[:2]
    blob = cv2.dnn.blobFromImage(cv2.copyMakeBorder(small, 0, -h % 32, 0, -w % 32, cv2.BORDER_CONSTANT, value=0))
    net = cv2.dnn.readNet(str(PACKAGED_YUNET))
    names = [f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]
    net.setInput(blob)
    outputs = dict(zip(names, net.forward(names)))
    faces = YuNetDetector(PACKAGED_YUNET).detect(bgr)
    return {"outputs": {k: v.ravel().tolist() for k, v in outputs.items()}, "pad": [blob.shape[3], blob.shape[2]],
            "scale": scale, "width": bgr.shape[1], "height": bgr.shape[0], "settings": SETTINGS,
            "faces": [{"box": f.box.to_dict(), "score": f.score, "landmarks": [list(p) for p in f.landmarks.points()]}
                      for f in faces]}


def tracking_case() -> list[dict[str, Any]]:
    tracker, smoother = IouTracker(), EmaSmoother(0.5)
    rng = np.random.default_rng(3)
    steps = []
    frames = [(0.0, [Box(10, 10, 50, 50), Box(200, 40, 60, 60)]), (0.04, [Box(12, 11, 50, 50)]),
              (0.08, [Box(201, 42, 60, 60), Box(13, 12, 50, 50)]), (1.5, [Box(14, 12, 50, 50)]),
              (1.54, [Box(15, 12, 50, 50), Box(300, 300, 40, 40)])]
    for time, boxes in frames:
        ids = tracker.update(boxes, time)
        values = rng.dirichlet(np.ones(7), size=len(boxes))
        smoothed = [smoother.update(i, v, time).tolist() for i, v in zip(ids, values)]
        steps.append({"time": time, "boxes": [b.to_dict() for b in boxes], "ids": ids, "values": values.tolist(),
                      "smoothed": smoothed})
    return steps


def run_node(cases: dict[str, Any], tmp_path: Path) -> None:
    if NODE is None:
        pytest.skip("node is not installed: the JavaScript ports are checked in the browser test only")
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    done = subprocess.run([NODE, "--test", str(TESTS)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FACEMOTION_JS_CASES": str(path)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_javascript_ports_match_python(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    run_node({"imaging": imaging_case(rng), "align": align_case(rng), "scan": scan_case(rng),
              "tracking": tracking_case(), "yunet": None}, tmp_path)


@pytest.mark.integration
def test_the_javascript_yunet_decoding_matches_opencv_on_the_photos(media_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    yunet = {name: yunet_case(media_dir / name) for name in ("justin.jpg", "solvay_conference.jpg")}
    assert sum(len(c["faces"]) for c in yunet.values()) >= 2
    run_node({"imaging": imaging_case(rng), "align": align_case(rng), "scan": scan_case(rng),
              "tracking": tracking_case(), "yunet": yunet}, tmp_path)
