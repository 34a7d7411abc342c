"""facemotion against the ``fer`` package, the same photos side by side in one run: milliseconds and faces per photo.

    python benchmarks/bench_vs_fer.py --fer-python /tmp/fervenv/bin/python    # or set $FER_PYTHON
    python benchmarks/bench_vs_fer.py                                         # facemotion only; fer is skipped

End to end = a decoded BGR image in, a list of faces with emotions out: ``fer.FER().detect_emotions(image)`` (its
default: OpenCV's Haar cascade, full resolution, faces >= 50 px, its Keras classifier) against
``Recognizer(detector=...).predict(image)`` (default model) with facemotion's Haar path and with YuNet (the default).
Each figure is the median of 7 calls after 2 warm-up calls. fer needs TensorFlow, so it runs in its own virtual
environment (``python3 -m venv /tmp/fervenv && /tmp/fervenv/bin/pip install fer``) in a subprocess that runs this
same file with ``--fer-worker``; that part imports nothing from facemotion.

Photos: justin.jpg and solvay_conference.jpg from ../shared/media, and two group photos composed here at run time
(never saved in the repository): 1280x720 with 9 faces and 2048x1536 with 6, faces cut from the shared photos and
pasted, feathered, onto a textured "pavement" background. Their true face boxes are known, so each detection of a
composed photo is counted as a hit (its centre inside a pasted face, its size within 2x of it), a false face (its
centre on the background, outside every pasted patch) or neither (a neighbour's face cut at a patch's edge).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEDIA = SHARED / "media"
FER_ENV = "FER_PYTHON"
WARMUP, RUNS = 2, 7
QUIET_S = 1.0
"""Seconds of rest before each side is timed: a thread pool that just worked spin-waits for a while, and fer's
TensorFlow worker lives in its own process beside ours, so without the rest each side pays for the other's pool."""


def median_ms(fn: Callable[[], object]) -> float:
    """Median wall time of ``fn`` in ms over ``RUNS`` calls after ``WARMUP`` calls."""
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def fer_worker() -> None:
    """Run in fer's own environment: for each ``.npy`` path read from stdin, time ``FER().detect_emotions`` and
    answer one JSON line. Photo by photo, so fer and facemotion are timed back to back under the same load."""
    from fer.fer import FER

    detector = FER()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        image = np.load(line.strip())
        time.sleep(QUIET_S)
        faces = detector.detect_emotions(image)
        ms = median_ms(lambda image=image: detector.detect_emotions(image))
        boxes = [[int(v) for v in face["box"]] for face in faces]
        print(json.dumps({"ms": ms, "boxes": boxes}), flush=True)


# --- the photos ------------------------------------------------------------------------------------------------

def _texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A paving-stone background: blotchy noise, grey-brown tint, dark joints every 60-90 pixels."""
    import cv2

    noise = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    blotches = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) * 18
    grain = rng.normal(0, 9, (height, width)).astype(np.float32)
    base = 128 + blotches + grain
    step = int(rng.integers(60, 90))
    base[::step, :] -= 45
    for row in range(0, height, step):
        offset = (row // step % 2) * step // 2
        base[row:row + step, offset::step] -= 45
    tint = np.array([0.92, 1.0, 1.08], np.float32)
    return np.clip(base[..., None] * tint, 0, 255).astype(np.uint8)


def _face_crops() -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Faces cut from the shared photos with a generous margin (so the cascade sees a head), found by YuNet."""
    import cv2

    from facemotion.faces import create_detector

    detector = create_detector("yunet")
    crops = []
    for name in ("justin.jpg", "solvay_conference.jpg"):
        image = cv2.imread(str(MEDIA / name))
        for det in detector.detect(image)[:6]:
            box = det.box
            pad = int(0.5 * max(box.w, box.h))
            x0, y0 = max(box.x - pad, 0), max(box.y - pad, 0)
            crop = image[y0:box.y + box.h + pad, x0:box.x + box.w + pad]
            crops.append((crop, (box.x - x0, box.y - y0, box.w, box.h)))
    return crops


Rect = tuple[int, int, int, int]


def compose_group(width: int, height: int, n_faces: int, face_sizes: tuple[int, int],
                  seed: int) -> tuple[np.ndarray, tuple[list[Rect], list[Rect]]]:
    """A synthetic group photo: ``n_faces`` faces on a grid (jittered, some mirrored) over paving; returns the
    image, the true face boxes and the pasted patches."""
    import cv2

    rng = np.random.default_rng(seed)
    image = _texture(height, width, rng)
    crops = _face_crops()
    cols = int(np.ceil(np.sqrt(n_faces * width / height)))
    rows = int(np.ceil(n_faces / cols))
    cell_w, cell_h = width // cols, height // rows
    truth, patches = [], []
    for i in range(n_faces):
        crop, (fx, fy, fw, fh) = crops[i % len(crops)]
        face = int(rng.integers(*face_sizes))
        face = min(face, int(0.5 * min(cell_w, cell_h)))
        scale = face / max(fw, fh)
        patch = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else
                           cv2.INTER_CUBIC)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
            fx = crop.shape[1] - fx - fw
        ph, pw = patch.shape[:2]
        ph, pw = min(ph, cell_h), min(pw, cell_w)
        patch = patch[:ph, :pw]
        cx = (i % cols) * cell_w + int(rng.integers(0, max(cell_w - pw, 0) + 1))
        cy = (i // cols) * cell_h + int(rng.integers(0, max(cell_h - ph, 0) + 1))
        yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
        edge = np.minimum.reduce([xx, yy, pw - 1 - xx, ph - 1 - yy]) / max(4.0, 0.15 * min(ph, pw))
        alpha = np.clip(edge, 0, 1)[..., None]
        region = image[cy:cy + ph, cx:cx + pw].astype(np.float32)
        image[cy:cy + ph, cx:cx + pw] = (alpha * patch + (1 - alpha) * region).astype(np.uint8)
        truth.append((cx + round(fx * scale), cy + round(fy * scale), round(fw * scale), round(fh * scale)))
        patches.append((cx, cy, pw, ph))
    return image, (truth, patches)


def photos() -> dict[str, tuple[np.ndarray, tuple[list[Rect], list[Rect]] | None]]:
    """Name -> (BGR image, (true faces, pasted patches) or None when unknown)."""
    import cv2

    out: dict[str, tuple[np.ndarray, tuple[list[Rect], list[Rect]] | None]] = {
        "justin.jpg": (cv2.imread(str(MEDIA / "justin.jpg")), None),
        "solvay_conference.jpg": (cv2.imread(str(MEDIA / "solvay_conference.jpg")), None),
    }
    out["group_1280x720"] = compose_group(1280, 720, 9, (70, 130), seed=1)
    out["group_2048x1536"] = compose_group(2048, 1536, 6, (120, 260), seed=2)
    return out


def _inside(cx: float, cy: float, rect: Rect) -> bool:
    x, y, w, h = rect
    return x <= cx <= x + w and y <= cy <= y + h


def score(boxes: list[Rect], known: tuple[list[Rect], list[Rect]] | None) -> str:
    """``n`` faces, or ``hits/true, n false`` when the true boxes are known."""
    if known is None:
        return str(len(boxes))
    truth, patches = known
    matched, false = set(), 0
    for x, y, w, h in boxes:
        cx, cy = x + w / 2, y + h / 2
        hit = next((i for i, t in enumerate(truth) if i not in matched and _inside(cx, cy, t)
                    and 0.5 <= max(w, h) / max(t[2], t[3]) <= 2), None)
        if hit is not None:
            matched.add(hit)
        elif not any(_inside(cx, cy, patch) for patch in patches):
            false += 1
    return f"{len(matched)}/{len(truth)}, {false} false"


# --- the runs --------------------------------------------------------------------------------------------------

class FerWorker:
    """fer in its own interpreter (this file with ``--fer-worker``), asked for one photo at a time."""

    def __init__(self, fer_python: str) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        self.tmp = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen([fer_python, str(Path(__file__).resolve()), "--fer-worker"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self._answer()  # waits for "ready"

    def _answer(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"the fer worker stopped (exit code {self.proc.wait()})")

    def time(self, name: str, image: np.ndarray) -> dict:
        path = Path(self.tmp.name) / f"{name}.npy"
        np.save(path, image)
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()
        self.tmp.cleanup()


def start_fer(fer_python: str | None) -> FerWorker | str:
    """fer's worker, or why it was skipped."""
    if not fer_python:
        return f"fer skipped: pass --fer-python or set ${FER_ENV} to a Python with `pip install fer`"
    if not Path(fer_python).is_file():
        return f"fer skipped: {fer_python} does not exist"
    try:
        return FerWorker(fer_python)
    except RuntimeError as exc:
        return f"fer skipped: {exc} (is fer installed for {fer_python}?)"


def machine() -> str:
    import platform

    import cv2
    import onnxruntime

    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, load average {load}; Python {platform.python_version()}, "
            f"OpenCV {cv2.__version__}, ONNX Runtime {onnxruntime.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fer-python", default=os.environ.get(FER_ENV), help=f"fer's Python (default ${FER_ENV})")
    parser.add_argument("--fer-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="default", help="facemotion classifier: default, fast or a path")
    args = parser.parse_args()
    if args.fer_worker:
        fer_worker()
        return

    from facemotion import Recognizer

    shots = photos()
    fer = start_fer(args.fer_python)
    recognizers = {name: Recognizer(args.model, name) for name in ("haar", "yunet")}
    print(f"Machine: {machine()}; median of {RUNS} calls after {WARMUP} warm-up calls, decoded image in\n")
    if isinstance(fer, str):
        print(fer + "\n")
    print("| photo | size | fer (Haar) ms | faces | facemotion Haar ms | faces | facemotion YuNet ms | faces "
          "| fer / Haar | fer / YuNet |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (image, truth) in shots.items():
        cells = [name, f"{image.shape[1]}x{image.shape[0]}"]
        theirs = fer.time(name, image) if isinstance(fer, FerWorker) else None
        ours = {}
        for key, recognizer in recognizers.items():
            time.sleep(QUIET_S)  # the other side's worker threads (TensorFlow's, ONNX Runtime's) stop spinning first
            faces = recognizer.predict(image)
            ours[key] = (median_ms(lambda r=recognizer, i=image: r.predict(i)),
                         score([f.box.to_tuple() for f in faces], truth))
        cells += [f"{theirs['ms']:.0f}", score([tuple(b) for b in theirs["boxes"]], truth)] if theirs else ["-", "-"]
        for key in ("haar", "yunet"):
            cells += [f"{ours[key][0]:.1f}", ours[key][1]]
        for key in ("haar", "yunet"):
            cells.append(f"{theirs['ms'] / ours[key][0]:.1f}x" if theirs else "-")
        print("| " + " | ".join(cells) + " |", flush=True)
    if isinstance(fer, FerWorker):
        fer.close()


if __name__ == "__main__":
    sys.exit(main())
