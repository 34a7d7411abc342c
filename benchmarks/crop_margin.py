"""Which crop margin reproduces FER2013's framing for each face detector? Prints a Markdown table.

    python benchmarks/crop_margin.py --data ../shared/data/fer2013/fer2013.csv.gz --model default

Each FER2013 validation (PublicTest) image is upscaled 4x, padded with its own edge pixels so the detector sees a
face in a larger picture, and re-detected. Two measurements per detector:
- geometry: the margin at which the crop square equals the original 48x48 frame, ``(frame / box_side - 1) / 2``
  (median over images), and the centre offset of the box in that frame;
- accuracy: each detected face is cropped with every margin (aligned and not, where the detector has landmarks),
  classified, and scored against its label; the original 48x48 images give the ceiling.
Margins are chosen on PublicTest, never PrivateTest (the test split is reported once, elsewhere).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from facemotion.data import load_fer2013
from facemotion.faces import create_detector, crop_face
from facemotion.inference.backends import load_classifier
from facemotion.types import Box, Detection

SHARED = Path(__file__).resolve().parents[2] / "shared"


def fer_like(image: np.ndarray, upscale: int, pad: float) -> tuple[np.ndarray, int, int]:
    """The 48x48 face upscaled and padded: the BGR picture, the frame's side and its offset in the picture."""
    side = image.shape[0] * upscale
    big = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)
    border = round(side * pad)
    big = cv2.copyMakeBorder(big, border, border, border, border, cv2.BORDER_REPLICATE)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2BGR), side, border


def central_face(detections: list[Detection], center: float) -> Detection | None:
    """The detection nearest the picture centre (the FER face), if any."""
    if not detections:
        return None
    return min(detections, key=lambda d: (d.box.center[0] - center) ** 2 + (d.box.center[1] - center) ** 2)


def crop(gray: np.ndarray, face: Detection, margin: float, align: bool) -> np.ndarray:
    """crop_face, also for negative margins (a crop inside the box), to see whether the peak lies below zero."""
    if margin >= 0:
        return crop_face(gray, face, margin=margin, align=align)
    (cx, cy), side = face.box.center, max(face.box.w, face.box.h) * (1 + 2 * margin)
    box = Box(round(cx - side / 2), round(cy - side / 2), round(side), round(side))
    return crop_face(gray, Detection(box, face.score, face.landmarks), margin=0.0, align=align)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "fer2013" / "fer2013.csv.gz")
    parser.add_argument("--model", default="default", help="default, fast, or an .onnx/.pt path")
    parser.add_argument("--yunet", type=Path, default=SHARED / "models" / "face_detection_yunet_2026may.onnx")
    parser.add_argument("--detectors", nargs="+", default=["yunet", "haar"])
    parser.add_argument("--margins", type=float, nargs="+",
                        default=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    parser.add_argument("--n", type=int, default=0, help="images (stratified subset; 0 = all of PublicTest)")
    parser.add_argument("--upscale", type=int, default=4)
    parser.add_argument("--pad", type=float, default=0.5, help="padding on each side, fraction of the face frame")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    val = load_fer2013(args.data).val
    if args.n:
        val = val.subset(args.n, seed=0)
    classifier = load_classifier(args.model, threads=args.threads)
    ceiling = float((classifier.predict_proba(val.images).argmax(1) == val.labels).mean())
    report: dict = {"images": len(val), "model": str(args.model), "ceiling_accuracy": ceiling, "detectors": {}}
    print(f"{len(val)} PublicTest images; accuracy on the original 48x48 frames: {ceiling:.4f}\n")
    print("| detector | align | found | frame margin (median, IQR) | centre offset x, y | "
          + " | ".join(f"m={m:g}" for m in args.margins) + " |")
    print("|---|---|---|---|---|" + "---|" * len(args.margins))
    for name in args.detectors:
        detector = create_detector(name, model_path=args.yunet, min_face_size=20)
        start = time.perf_counter()
        found: list[tuple[int, np.ndarray, Detection, int, int]] = []
        for i, image in enumerate(val.images):
            picture, side, border = fer_like(image, args.upscale, args.pad)
            face = central_face(detector.detect(picture), picture.shape[0] / 2)
            if face is not None:
                found.append((i, cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY), face, side, border))
        seconds = time.perf_counter() - start
        if not found:
            print(f"| {name} | - | 0 | - | - |" + " - |" * len(args.margins))
            continue
        frame_margins = np.array([(side / max(f.box.w, f.box.h) - 1) / 2 for _, _, f, side, _ in found])
        offsets = np.array([((f.box.center[0] - border) / side - 0.5, (f.box.center[1] - border) / side - 0.5)
                            for _, _, f, side, border in found])
        labels = val.labels[[i for i, *_ in found]]
        q1, med, q3 = np.percentile(frame_margins, [25, 50, 75])
        has_landmarks = any(f.landmarks is not None for _, _, f, _, _ in found)
        for align in ([True, False] if has_landmarks else [False]):
            accuracies = []
            for margin in args.margins:
                crops = np.stack([crop(gray, f, margin, align) for _, gray, f, _, _ in found])
                accuracies.append(float((classifier.predict_proba(crops).argmax(1) == labels).mean()))
            report["detectors"][f"{name}{'+align' if align else ''}"] = {
                "found": len(found), "detect_seconds": seconds, "frame_margin_median": float(med),
                "frame_margin_iqr": [float(q1), float(q3)], "centre_offset": offsets.mean(0).tolist(),
                "accuracy": dict(zip(map(str, args.margins), accuracies)),
                "ceiling_on_found": float((classifier.predict_proba(val.images[[i for i, *_ in found]]).argmax(1)
                                           == labels).mean()),
            }
            best = int(np.argmax(accuracies))
            cells = [f"**{a:.4f}**" if j == best else f"{a:.4f}" for j, a in enumerate(accuracies)]
            print(f"| {name} | {'yes' if align else 'no'} | {len(found) / len(val):.1%} | {med:.3f} "
                  f"({q1:.3f}-{q3:.3f}) | {offsets[:, 0].mean():+.3f}, {offsets[:, 1].mean():+.3f} | "
                  + " | ".join(cells) + " |")
    for key, value in report["detectors"].items():
        print(f"\n{key}: accuracy of the original frames of the {value['found']} faces found: "
              f"{value['ceiling_on_found']:.4f}; detection {value['detect_seconds']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
