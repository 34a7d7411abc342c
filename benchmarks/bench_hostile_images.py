"""Time and memory of hostile images end to end (``Recognizer().predict(path)``), each in a fresh process.

    python benchmarks/bench_hostile_images.py

The inputs of issue 14's rows 1 and 1b, made here in a temporary folder (never saved in the repository): a PNG of
1,000,000x50 pixels, a 7000x7000 RGBA PNG, a 7000x7000 GIF and justin.jpg with its header patched to 7000x7000.
Memory is the process's peak RSS above its RSS after loading the Recognizer and one warm-up photo. The tests only
check the cheap signs of this (the scan size chosen, the error raised); this script measures the real cost.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"

_CHILD = """
import json, resource, sys, time
import numpy as np
from facemotion import Recognizer
from facemotion.errors import ImageError
recognizer = Recognizer()
recognizer.predict(np.full((480, 640, 3), 128, np.uint8))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    outcome = f"{len(recognizer.predict(sys.argv[1]))} faces"
except ImageError as exc:
    outcome = f"ImageError: {str(exc).split(': ', 1)[1][:70]}"
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "extra_mb": (peak - base) / 1024, "outcome": outcome}))
"""


def _patched_justin(width: int, height: int) -> bytes:
    data = bytearray((SHARED / "media" / "justin.jpg").read_bytes())
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def make_inputs(folder: Path) -> dict[str, Path]:
    from PIL import Image

    cases = {}
    strip = folder / "strip_1000000x50.png"
    Image.new("L", (1_000_000, 50), 90).save(strip, optimize=True)
    cases["1,000,000x50 PNG"] = strip
    rgba = folder / "rgba_7000x7000.png"
    Image.new("RGBA", (7000, 7000), (120, 130, 140, 128)).save(rgba, optimize=True)
    cases["7000x7000 RGBA PNG"] = rgba
    gif = folder / "flat_7000x7000.gif"
    Image.new("P", (7000, 7000)).save(gif)
    cases["7000x7000 GIF"] = gif
    if (SHARED / "media" / "justin.jpg").is_file():
        patched = folder / "justin_7000x7000.jpg"
        patched.write_bytes(_patched_justin(7000, 7000))
        cases["justin.jpg patched to 7000x7000"] = patched
    return cases


def main() -> None:
    print("| input | file size | time (s) | extra memory (MB) | result |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in make_inputs(Path(tmp)).items():
            done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"| {label} | {path.stat().st_size:,} B | - | - | failed: {done.stderr.strip()[-200:]} |")
                continue
            record = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {label} | {path.stat().st_size:,} B | {record['seconds']:.2f} | {record['extra_mb']:.0f} "
                  f"| {record['outcome']} |", flush=True)


if __name__ == "__main__":
    main()
