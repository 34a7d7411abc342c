"""Video speed: frames/s with one face in 640x480 frames, per detector and model.

    python benchmarks/bench_video.py                         # yunet and haar, default and fast models
    python benchmarks/bench_video.py --frames 200 --threads 1

The clip is ../shared/media/woman2.mp4 (one person, 596x336) letterboxed into 640x480 frames, so the face moves and
changes expression as in a real recording. Three figures per configuration, each over the same frames after a
warm-up:

- analysis: ``VideoAnalyzer.stream`` on frames already in memory (detect, align, classify, track, smooth), what a
  user's own capture loop gets;
- ``video --csv``: decode a 640x480 MPEG-4 file and analyse it, writing the CSV (``facemotion video IN --csv F``);
- ``+ --out``: the same, also drawing and encoding the annotated copy.

Each with the default ``--rescan 0.5`` (whole-frame detection twice a second, only around the tracked face in
between) and with ``--rescan 0`` (every frame searched whole). The agreement columns compare the two on the same
frames: the share of frames whose raw and smoothed labels are the same, and the boxes' mean IoU.

Prints a Markdown table and the machine. Run it on an idle machine: anything else using the cores slows every
figure down.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from bench_inference import SHARED, machine

from facemotion.inference.recognizer import Recognizer
from facemotion.video import AnnotatedVideoWriter, CsvWriter, FrameResult, VideoAnalyzer, VideoSource, iou, run_video

SIZE = (640, 480)
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"


def letterboxed_frames(limit: int) -> list[np.ndarray]:
    """The first ``limit`` frames of woman2.mp4, scaled to 640 wide and centred on a black 640x480 canvas."""
    capture = cv2.VideoCapture(str(SHARED / "media" / "woman2.mp4"))
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the clip when more frames are asked for
            continue
        height = round(frame.shape[0] * SIZE[0] / frame.shape[1])
        canvas = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        top = (SIZE[1] - height) // 2
        canvas[top:top + height] = cv2.resize(frame, (SIZE[0], height), interpolation=cv2.INTER_AREA)
        frames.append(canvas)
    capture.release()
    return frames


def write_clip(frames: list[np.ndarray], path: Path, fps: float = 29.97) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, SIZE)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def analysis_fps(analyzer: VideoAnalyzer, frames: list[np.ndarray]) -> tuple[float, list[FrameResult]]:
    """Frames/s of the streaming API on in-memory frames, and its results."""
    analyzer.reset()
    list(analyzer.stream(frames[:10], fps=29.97))  # warm-up
    analyzer.reset()
    start = time.perf_counter()
    results = list(analyzer.stream(frames, fps=29.97))
    return len(frames) / (time.perf_counter() - start), results


def agreement(results: list[FrameResult], reference: list[FrameResult]) -> tuple[float, float, float]:
    """Shares of frames with the same raw and the same smoothed labels as ``reference``, and the mean box IoU."""
    raw = smoothed = 0
    overlaps = []
    for a, b in zip(results, reference):
        same_faces = len(a.faces) == len(b.faces)
        raw += same_faces and all(x.raw.emotion == y.raw.emotion for x, y in zip(a.faces, b.faces))
        smoothed += same_faces and all(x.smoothed.emotion == y.smoothed.emotion for x, y in zip(a.faces, b.faces))
        overlaps += [iou(x.smoothed.box, y.smoothed.box) for x, y in zip(a.faces, b.faces)]
    n = len(reference)
    return raw / n, smoothed / n, float(np.mean(overlaps)) if overlaps else float("nan")


def file_fps(analyzer: VideoAnalyzer, clip: Path, work: Path, annotated: bool) -> float:
    """Frames/s of the command line's loop on the file: decode, analyse, CSV (and the annotated video)."""
    source = VideoSource(clip)
    csv = CsvWriter(work / "rows.csv")
    out = AnnotatedVideoWriter(work / "out.mp4", fps=source.fps or 30.0, size=SIZE) if annotated else None
    try:
        start = time.perf_counter()
        summary = run_video(source, analyzer, csv=csv, video=out)
        elapsed = time.perf_counter() - start
    finally:
        csv.close()
        if out is not None:
            out.close()
    return summary.frames / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement")
    parser.add_argument("--detectors", nargs="+", default=["yunet", "haar"])
    parser.add_argument("--models", nargs="+", default=["default", "fast"])
    parser.add_argument("--rescans", nargs="+", type=float, default=[0.5, 0.0])
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: its default)")
    args = parser.parse_args()

    frames = letterboxed_frames(args.frames)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = write_clip(frames, work / "clip640x480.mp4")
        for detector in args.detectors:
            for model in args.models:
                recognizer = Recognizer(model, detector, detector_model=YUNET if detector == "yunet" else None,
                                        threads=args.threads)
                measured = {}
                for rescan in args.rescans:
                    analyzer = VideoAnalyzer(recognizer, rescan=rescan)
                    fps, results = analysis_fps(analyzer, frames)
                    csv_fps = file_fps(analyzer, clip, work, annotated=False)
                    out_fps = file_fps(analyzer, clip, work, annotated=True)
                    measured[rescan] = (fps, csv_fps, out_fps, results)
                reference = measured[min(measured)][3]  # the most whole-frame scans
                for rescan, (fps, csv_fps, out_fps, results) in measured.items():
                    faces = sum(len(r.faces) for r in results) / len(results)
                    raw, smoothed, overlap = agreement(results, reference)
                    rows.append(f"| {detector} | {model} | {rescan:g} | {faces:.2f} | {fps:.1f} | {csv_fps:.1f} | "
                                f"{out_fps:.1f} | {raw:.3f} | {smoothed:.3f} | {overlap:.3f} |")
                    print(rows[-1], flush=True)
    print(f"\n{len(frames)} frames of 640x480, one face (woman2.mp4 letterboxed), ONNX Runtime threads "
          f"{args.threads or 'default'}; speeds in frames/s; agreement with --rescan {min(args.rescans):g}:\n")
    print("| detector | model | --rescan | faces/frame | analysis | video --csv | + --out | same raw label | "
          "same smoothed label | box IoU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nMachine: {machine()}")


if __name__ == "__main__":
    main()
