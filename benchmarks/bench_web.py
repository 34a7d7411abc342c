"""Private mode's webcam speed: frames/s analysed in headless Chromium, everything in the browser, per model.

    python benchmarks/bench_web.py                       # every packaged tier, 640x480 camera showing justin.jpg
    python benchmarks/bench_web.py --models fast --seconds 20

Writes ``facemotion export-web``'s folder to a temporary directory, serves it with the standard library's static
server on 127.0.0.1, and points Chromium's fake camera at a 30 frames/s Y4M of the photo (letterboxed to 640x480,
a webcam's frame). The page analyses frames back to back (detection, crops, classifier, tracking, smoothing); the
figure is frames analysed per second of wall time after a warm-up, with the payload each model downloads. Prints a
Markdown table and the machine. Run it on an idle machine: Chromium's wasm runs on one thread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.serving: the static host and Chromium's flags

from bench_inference import SHARED, machine  # noqa: E402  (same folder)

from facemotion.inference.weights import PACKAGED_MODELS  # noqa: E402
from facemotion.serving.static_site import export_site  # noqa: E402
from tests.serving.static_host import StaticHost  # noqa: E402
from tests.serving.test_browser import start_chromium  # noqa: E402


def webcam_y4m(image: np.ndarray, path: Path, size: tuple[int, int] = (640, 480), frames: int = 30) -> Path:
    """The photo letterboxed into a ``size`` frame, as a 30 frames/s Y4M loop for Chromium's fake camera."""
    width, height = size
    k = min(width / image.shape[1], height / image.shape[0])
    small = cv2.resize(image, (round(image.shape[1] * k), round(image.shape[0] * k)), interpolation=cv2.INTER_AREA)
    frame = np.full((height, width, 3), 96, np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    frame[y:y + small.shape[0], x:x + small.shape[1]] = small
    yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n" + yuv.tobytes())
    return path


def wait(driver, condition: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({condition});"):
        if time.monotonic() > deadline:
            status = driver.execute_script("return document.getElementById('status').textContent;")
            raise SystemExit(f"timed out waiting for {condition}; the page says {status!r}")
        time.sleep(0.05)


def measure(driver, url: str, model: str, warmup: float, seconds: float) -> dict:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/?mode=private")
    wait(driver, "window.facemotionPrivate && document.body.dataset.mode === 'private'")
    driver.execute_script(f"const s = document.getElementById('private-model'); s.value = {model!r};"
                          "s.dispatchEvent(new Event('change'));")
    driver.execute_script("window.benchReady = false; window.facemotionPrivate.ready().then(() => "
                          "{ window.benchReady = true; });")
    wait(driver, "window.benchReady")
    driver.find_element(By.ID, "tab-webcam").click()
    driver.find_element(By.ID, "cam-start").click()
    wait(driver, "Number(document.body.dataset.frames || 0) >= 3")
    time.sleep(warmup)
    start_frames, start = driver.execute_script("return Number(document.body.dataset.frames);"), time.perf_counter()
    time.sleep(seconds)
    frames, end = driver.execute_script("return Number(document.body.dataset.frames);"), time.perf_counter()
    last = driver.execute_script("return window.facemotionLastResult;")
    driver.find_element(By.ID, "cam-stop").click()
    site = driver.execute_script("return fetch('site.json').then(r => r.json());")
    chosen = next(m for m in site["models"] if m["name"] == model)
    payload = site["runtime"]["bytes"] + site["detector"]["bytes"] + chosen["bytes"]
    return {"model": model, "fps": (frames - start_frames) / (end - start), "faces": len(last["faces"]),
            "frame_ms": last["timing_ms"]["total"], "payload_mb": payload / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=SHARED / "media" / "justin.jpg")
    parser.add_argument("--models", nargs="+", default=list(PACKAGED_MODELS))
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per model")
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export_site(work / "site")
        camera = webcam_y4m(cv2.imread(str(args.image)), work / "camera.y4m")
        driver = start_chromium(work, camera)
        try:
            with StaticHost(work / "site") as host:
                rows = [measure(driver, host.url, model, args.warmup, args.seconds) for model in args.models]
        finally:
            driver.quit()
    print(f"Private mode webcam, 640x480 camera, {args.image.name}, headless Chromium ({machine()})\n")
    print("| model | frames/s | last frame ms | faces | payload MB |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['fps']:.1f} | {r['frame_ms']:.1f} | {r['faces']} | {r['payload_mb']:.1f} |")


if __name__ == "__main__":
    main()
