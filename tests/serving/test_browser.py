"""End to end in headless Chromium: the page, a real server, a real photo, and a fake webcam showing that photo.

Debian's ``chromium`` and ``chromium-driver`` are used (installed here with apt-get when missing and allowed).
Selenium is given both binaries, so Selenium Manager never looks for a browser or driver on the network, and
Chromium runs with the flags that keep it off a closed network. Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from facemotion.labels import EMOTIONS
from tests.serving.live import LiveServer

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,1000")
WAIT_S = 60


def ensure_chromium() -> str | None:
    """None when Chromium and its driver are there (installing them as root with apt-get if needed), else why not."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (f"{CHROMIUM} or {CHROMEDRIVER} is missing and cannot be installed here (needs root and apt-get): "
                f"apt-get install -y chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
    try:
        if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
            done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                return f"apt-get could not install chromium and chromium-driver: {done.stderr[-500:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get could not install chromium and chromium-driver: {exc}"
    return None if CHROMIUM.exists() and CHROMEDRIVER.exists() else "apt-get ran but Chromium is still missing"


def start_chromium(work: Path, camera: Path, *, log: Path | None = None) -> Any:
    """Headless Chromium under chromedriver, its profile in ``work`` and ``camera`` (a Y4M file) as its webcam:
    one launch shared by the browser tests and ``benchmarks/bench_web.py``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={work / 'profile'}", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER), **({"log_output": str(log)} if log else {}))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_S)
    return driver


def write_y4m(image: np.ndarray, path: Path, frames: int = 10) -> Path:
    """A short Y4M video of one still image: what Chromium's fake camera plays, in a loop."""
    height, width = (s - s % 2 for s in image.shape[:2])
    yuv = cv2.cvtColor(np.ascontiguousarray(image[:height, :width]), cv2.COLOR_BGR2YUV_I420)
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n" + yuv.tobytes())
    return path


@pytest.fixture(scope="module")
def server(media_dir: Path, artifacts_dir: Path) -> Iterator[LiveServer]:
    """The real service with the default model; YuNet when the shared model is there, else Haar."""
    yunet = media_dir.parent / "models" / "face_detection_yunet_2026may.onnx"
    detector = ["--detector", "yunet", "--detector-model", str(yunet)] if yunet.is_file() else ["--detector", "haar"]
    with LiveServer(*detector, log_dir=artifacts_dir / "logs") as live:
        yield live


@pytest.fixture(scope="module")
def browser(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = ensure_chromium()
    if reason is not None:
        pytest.skip(reason)
    pytest.importorskip("selenium.webdriver")
    work = tmp_path_factory.mktemp("chromium")
    camera = write_y4m(cv2.imread(str(media_dir / "justin.jpg")), work / "justin.y4m")
    driver = start_chromium(work, camera, log=work / "chromedriver.log")
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, condition: str, timeout: float = WAIT_S) -> None:
    """Wait until the JavaScript expression is true; fail with the page's status line if it never is."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(f"return {condition};"))
    except TimeoutException:
        status = driver.execute_script("return document.getElementById('status').textContent;")
        pytest.fail(f"timed out after {timeout} s waiting for {condition}; the page says: {status!r}")


def save_screenshot(driver: Any, artifacts_dir: Path, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = artifacts_dir / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)), path
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


def face_cards(driver: Any) -> list[dict]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#faces .face')].map(card => ({"
        "  emotion: card.querySelector('.emotion').textContent,"
        "  bars: [...card.querySelectorAll('.bar')].map(bar => bar.dataset.emotion)}));")


def test_upload_a_photo_and_see_the_labelled_face(browser: Any, server: LiveServer, media_dir: Path,
                                                  artifacts_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    assert browser.title == "facemotion"
    browser.find_element(By.ID, "file").send_keys(str(media_dir / "justin.jpg"))
    wait_for(browser, "document.body.dataset.state === 'done' || document.body.dataset.state === 'error'")
    assert browser.execute_script("return document.body.dataset.state;") == "done", \
        browser.find_element(By.ID, "status").text
    cards = face_cards(browser)
    assert len(cards) >= 1 and cards[0]["emotion"] in EMOTIONS
    assert cards[0]["bars"] == list(EMOTIONS)  # a bar per emotion, in label order
    canvas = browser.execute_script(
        "const c = document.getElementById('canvas');"
        "const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let colored = 0; for (let i = 0; i < px.length; i += 4) {"
        "  if (Math.max(px[i], px[i+1], px[i+2]) - Math.min(px[i], px[i+1], px[i+2]) > 80) colored++; }"
        "return {width: c.width, height: c.height, colored: colored};")
    assert (canvas["width"], canvas["height"]) == (381, 384)  # the photo itself, at full size
    assert canvas["colored"] > 500  # the coloured box and label over a nearly gray photo
    assert "face" in browser.find_element(By.ID, "status").text
    save_screenshot(browser, artifacts_dir, "upload-justin.png", capsys)

    browser.set_window_size(390, 844)  # a phone: nothing may need sideways scrolling
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
    save_screenshot(browser, artifacts_dir, "upload-justin-phone.png", capsys)
    browser.set_window_size(1200, 1000)


def test_webcam_mode_overlays_live_results(browser: Any, server: LiveServer, artifacts_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "tab-webcam").click()
    browser.find_element(By.ID, "cam-start").click()
    wait_for(browser, "Number(document.body.dataset.frames || 0) >= 3 && Number(document.body.dataset.faces) >= 1")
    assert face_cards(browser)[0]["emotion"] in EMOTIONS
    overlay = browser.execute_script("const c = document.getElementById('overlay');"
                                     "return [c.width, c.height];")
    assert overlay == [380, 384]  # the fake camera's frame size (even sides), boxes drawn at that scale
    boxes = browser.execute_script("return ['overlay', 'video'].map(id => {"
                                   "  const r = document.getElementById(id).getBoundingClientRect();"
                                   "  return [r.left, r.top, r.width, r.height].map(Math.round); });")
    assert boxes[0] == boxes[1]  # the overlay lies exactly over the video
    assert not browser.find_element(By.ID, "key-row").is_displayed()  # no key asked: the field stays hidden
    save_screenshot(browser, artifacts_dir, "webcam-justin.png", capsys)
    browser.find_element(By.ID, "cam-stop").click()
    frames = browser.execute_script("return Number(document.body.dataset.frames);")
    time.sleep(1.0)
    assert browser.execute_script("return Number(document.body.dataset.frames);") <= frames + 1  # it stopped


def test_the_heatmap_toggle_draws_maps_over_faces(browser: Any, server: LiveServer, media_dir: Path,
                                                  artifacts_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "file").send_keys(str(media_dir / "justin.jpg"))
    wait_for(browser, "document.body.dataset.state === 'done' || document.body.dataset.state === 'error'")
    assert browser.execute_script("return document.body.dataset.heatmaps;") == "1"
    hot = browser.execute_script(  # reddish heat near the face centre, on a nearly gray photo
        "const c = document.getElementById('canvas');"
        "const px = c.getContext('2d').getImageData(140, 150, 100, 80).data;"
        "let hot = 0; for (let i = 0; i < px.length; i += 4) { if (px[i] - px[i+2] > 60) hot++; } return hot;")
    assert hot > 300
    save_screenshot(browser, artifacts_dir, "upload-justin-heatmap.png", capsys)

    browser.find_element(By.ID, "tab-webcam").click()
    browser.find_element(By.ID, "cam-start").click()
    wait_for(browser, "Number(document.body.dataset.frames || 0) >= 2 && Number(document.body.dataset.heatmaps) >= 1")
    save_screenshot(browser, artifacts_dir, "webcam-justin-heatmap.png", capsys)
    browser.find_element(By.ID, "cam-stop").click()
    browser.find_element(By.ID, "explain").click()  # off again for the tests after this one


def test_a_server_with_an_api_key_asks_for_it_once(browser: Any, media_dir: Path, artifacts_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    with LiveServer("--detector", "none", "--model", "fast", log_dir=artifacts_dir / "logs",
                    env={"FACEMOTION_API_KEY": "let-me-in"}) as keyed:
        browser.get(keyed.url + "/")
        browser.execute_script("sessionStorage.clear();")
        browser.find_element(By.ID, "file").send_keys(str(media_dir / "justin.jpg"))
        wait_for(browser, "document.body.dataset.state === 'error'")
        assert "API key" in browser.find_element(By.ID, "status").text
        key = browser.find_element(By.ID, "api-key")
        assert key.is_displayed()  # the 401 brought the key field up
        key.send_keys("let-me-in")
        browser.find_element(By.ID, "file").send_keys(str(media_dir / "justin.jpg"))
        wait_for(browser, "document.body.dataset.state === 'done'")
        assert face_cards(browser)[0]["emotion"] in EMOTIONS
