"""Private mode end to end: ``export-web``'s folder on a plain static server, headless Chromium, the shared photos.

The static server is the standard library's, so whatever the page recognises it recognised itself; its request
log shows that no image went anywhere. The browser's boxes and labels are checked against the Python Recognizer's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from facemotion.serving.static_site import export_site
from tests.serving.static_host import StaticHost
from tests.serving.test_browser import (
    ensure_chromium,
    save_screenshot,
    start_chromium,
    wait_for,
    write_y4m,
)

pytestmark = pytest.mark.integration

IOU_MIN = 0.9


def iou(a: dict, b: tuple[int, int, int, int]) -> float:
    bx, by, bw, bh = b
    w = min(a["x"] + a["w"], bx + bw) - max(a["x"], bx)
    h = min(a["y"] + a["h"], by + bh) - max(a["y"], by)
    inter = max(w, 0) * max(h, 0)
    return inter / (a["w"] * a["h"] + bw * bh - inter)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticHost]:
    site = tmp_path_factory.mktemp("site")
    export_site(site)
    with StaticHost(site) as served:
        yield served


@pytest.fixture(scope="module")
def browser(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = ensure_chromium()
    if reason is not None:
        pytest.skip(reason)
    pytest.importorskip("selenium.webdriver")
    work = tmp_path_factory.mktemp("chromium-private")
    camera = write_y4m(cv2.imread(str(media_dir / "justin.jpg")), work / "justin.y4m")
    driver = start_chromium(work, camera)
    try:
        yield driver
    finally:
        driver.quit()


def open_private(browser: Any, url: str) -> None:
    browser.get(url)
    wait_for(browser, "window.facemotionPrivate && document.body.dataset.mode === 'private'")
    browser.execute_script("window.facemotionPrivateReady = false;"
                           "window.facemotionPrivate.ready().then(() => { window.facemotionPrivateReady = true; },"
                           " () => { window.facemotionPrivateReady = 'failed'; });")
    wait_for(browser, "window.facemotionPrivateReady !== false")


def upload(browser: Any, path: Path) -> dict:
    from selenium.webdriver.common.by import By

    browser.execute_script("document.body.dataset.state = 'busy'; window.facemotionLastResult = null;")
    browser.find_element(By.ID, "file").send_keys(str(path))
    wait_for(browser, "document.body.dataset.state === 'done' || document.body.dataset.state === 'error'")
    assert browser.execute_script("return document.body.dataset.state;") == "done", \
        browser.find_element(By.ID, "status").text
    return browser.execute_script("return window.facemotionLastResult;")


@pytest.mark.parametrize("name", ["justin.jpg", "solvay_conference.jpg"])
def test_the_exported_site_matches_the_server_without_sending_the_photo(browser: Any, host: StaticHost,
                                                                        media_dir: Path, name: str,
                                                                        artifacts_dir: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from facemotion import Recognizer

    open_private(browser, host.url + "/")
    assert "no image leaves this device" in browser.execute_script(
        "return document.getElementById('mode-banner').textContent;")
    result = upload(browser, media_dir / name)
    expected = Recognizer("default", detector="yunet").predict(media_dir / name)
    assert len(result["faces"]) == len(expected) >= 1
    for got, want in zip(result["faces"], expected):
        assert iou(got["box"], want.box.to_tuple()) >= IOU_MIN, (got["box"], want.box)
        assert got["emotion"] == want.emotion
        assert got["confidence"] == pytest.approx(want.confidence, abs=0.02)
    assert not [r for r in host.requests if "/v1/" in r or r.startswith("POST")], host.requests
    save_screenshot(browser, artifacts_dir, f"private-{Path(name).stem}.png", capsys)


def test_webcam_private_mode_tracks_and_smooths(browser: Any, host: StaticHost) -> None:
    from selenium.webdriver.common.by import By

    open_private(browser, host.url + "/")
    browser.find_element(By.ID, "tab-webcam").click()
    browser.find_element(By.ID, "cam-start").click()
    wait_for(browser, "Number(document.body.dataset.frames || 0) >= 5 && Number(document.body.dataset.faces) >= 1")
    face = browser.execute_script("return window.facemotionLastResult.faces[0];")
    assert face["track_id"] == 1  # one face, one track from the first frame on
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
    site = json.loads((host.root / "site.json").read_text())
    assert browser.execute_script("return window.facemotionPrivate.tracking();") == site["tracking"]
    browser.find_element(By.ID, "cam-stop").click()
    assert not [r for r in host.requests if r.startswith("POST")]


def test_a_photo_too_large_for_the_device_is_shrunk_and_said_so(browser: Any, host: StaticHost,
                                                                 media_dir: Path) -> None:
    open_private(browser, host.url + "/")
    browser.execute_script("window.facemotionPrivate.maxPixels = 60000;")
    result = upload(browser, media_dir / "justin.jpg")
    assert result["width"] * result["height"] <= 60000 and len(result["faces"]) == 1
    status = browser.execute_script("return document.getElementById('status').textContent;")
    assert "shrunk from 381x384" in status


def test_a_model_that_fails_to_load_is_named(browser: Any, host: StaticHost) -> None:
    from selenium.webdriver.support.ui import Select

    host.broken.add("/models/fast.onnx")
    try:
        open_private(browser, host.url + "/")
        Select(browser.find_element("id", "private-model")).select_by_value("fast")
        wait_for(browser, "document.body.dataset.state === 'error'")
        status = browser.execute_script("return document.getElementById('status').textContent;")
        assert "models/fast.onnx" in status and "404" in status
    finally:
        host.broken.discard("/models/fast.onnx")


def test_facemotion_serve_offers_both_modes(browser: Any, artifacts_dir: Path, media_dir: Path) -> None:
    from selenium.webdriver.support.ui import Select

    from tests.serving.live import LiveServer

    with LiveServer("--detector", "yunet", log_dir=artifacts_dir / "logs") as live:
        browser.get(live.url + "/")
        wait_for(browser, "window.facemotionPrivate && document.body.dataset.mode === 'server'")
        modes = [o.get_attribute("value") for o in Select(browser.find_element("id", "mode")).options]
        assert modes == ["server", "private"]
        assert "sent to this server" in browser.execute_script(
            "return document.getElementById('mode-banner').textContent;")
        open_private(browser, live.url + "/?mode=private")
        expected = upload(browser, media_dir / "justin.jpg")["faces"]
        assert len(expected) == 1 and "in this browser" in browser.execute_script(
            "return document.getElementById('status').textContent;")


def test_without_webassembly_the_page_says_so_and_offers_the_server(browser: Any, host: StaticHost,
                                                                    artifacts_dir: Path) -> None:
    from tests.serving.live import LiveServer

    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                     {"source": "delete globalThis.WebAssembly;"})
    try:
        browser.get(host.url + "/")
        wait_for(browser, "document.body.dataset.state === 'unsupported'")
        status = browser.execute_script("return document.getElementById('status').textContent;")
        assert "no WebAssembly" in status and "facemotion serve" in status
        with LiveServer("--detector", "none", "--model", "fast", log_dir=artifacts_dir / "logs") as live:
            browser.get(live.url + "/")
            wait_for(browser, "document.body.dataset.state === 'unsupported'")
            assert browser.execute_script("return document.body.dataset.mode;") == "server"
            assert "server mode is on" in browser.execute_script(
                "return document.getElementById('status').textContent;")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def test_private_heatmaps_are_the_servers(browser: Any, host: StaticHost, media_dir: Path) -> None:
    import numpy as np

    from facemotion import Recognizer

    open_private(browser, host.url + "/")
    browser.find_element("id", "explain").click()
    try:
        face = upload(browser, media_dir / "justin.jpg")["faces"][0]
        assert browser.execute_script("return document.body.dataset.heatmaps;") == "1"
    finally:
        browser.find_element("id", "explain").click()
    want = Recognizer("default", detector="yunet").predict(media_dir / "justin.jpg", explain=True)[0].heatmap
    assert np.allclose(face["heatmap"]["matrix"], want.matrix, atol=1e-6)
    assert np.allclose(face["heatmap"]["maps"][face["emotion"]], want.maps[face["emotion"]], atol=1e-3)
