"""``site.json``, ``/models/*`` and ``export_site``: what private mode downloads, from the server or a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facemotion.defaults import (
    DEFAULT_IOU_THRESHOLD,
    DEFAULT_MIN_FACE_SIZE,
    DEFAULT_SCORE_THRESHOLD,
    DEFAULT_SMOOTH_WINDOW,
    DEFAULT_TRACK_TIMEOUT,
)
from facemotion.errors import FacemotionError
from facemotion.inference.weights import PACKAGED_MODELS
from facemotion.labels import EMOTIONS
from facemotion.serving.static_site import export_site, site_files, site_manifest


def test_the_manifest_lists_every_packaged_model_with_its_size_and_labels() -> None:
    manifest = site_manifest(server=False)
    assert manifest["server"] is False
    assert [m["name"] for m in manifest["models"]] == [n for n in PACKAGED_MODELS if n in site_files()]
    for model in manifest["models"]:
        assert model["bytes"] == site_files()[model["name"]].source.stat().st_size
        assert tuple(model["labels"]) == EMOTIONS
    detector = manifest["detector"]  # the server's own settings, so both sides decide alike
    assert (detector["score_threshold"], detector["min_face_size"]) == (DEFAULT_SCORE_THRESHOLD, DEFAULT_MIN_FACE_SIZE)
    assert manifest["runtime"]["version"] != "unknown" and manifest["runtime"]["bytes"] > 1_000_000
    assert manifest["tracking"] == {"iou_threshold": DEFAULT_IOU_THRESHOLD, "timeout": DEFAULT_TRACK_TIMEOUT,
                                    "smooth_window": DEFAULT_SMOOTH_WINDOW}  # the live mode's, as the server's


def test_an_unknown_default_model_falls_back_to_the_first() -> None:
    assert site_manifest(server=True, default_model="no-such")["default_model"] == site_manifest(
        server=True)["models"][0]["name"]


def test_export_site_writes_a_self_contained_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    manifest = export_site(site)
    assert json.loads((site / "site.json").read_text()) == manifest
    for path in ["index.html", "static/app.js", "static/private/page.mjs", "static/private/yunet.mjs",
                 "static/vendor/onnxruntime-web/ort.wasm.bundle.min.mjs",
                 "static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", "static/vendor/onnxruntime-web/LICENSE",
                 manifest["detector"]["path"], *(m["path"] for m in manifest["models"])]:
        assert (site / path).is_file(), path
    html = (site / "index.html").read_text()
    assert 'src="/' not in html and 'href="/static' not in html  # relative: the folder may live under any path


def test_export_site_refuses_a_folder_with_files_unless_told(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FacemotionError, match="not empty"):
        export_site(tmp_path)
    export_site(tmp_path, overwrite=True)
    assert (tmp_path / "keep.txt").read_text() == "mine"
    with pytest.raises(FacemotionError, match="not a folder"):
        export_site(tmp_path / "keep.txt")


def test_the_server_answers_site_json_and_model_files(client: Any) -> None:
    site = client.get("/site.json")
    assert site.status_code == 200
    body = site.json()
    assert body["server"] is True
    for item in [body["detector"], *body["models"]]:
        response = client.get(f"/{item['path']}")
        assert response.status_code == 200 and len(response.content) == item["bytes"], item["path"]
    assert client.get("/models/secrets.onnx").status_code == 404
    assert client.get("/models/..%2Fdefault.json").status_code == 404


def test_the_runtime_binary_goes_out_gzipped_and_unpacks_to_wasm(client: Any, tmp_path: Path) -> None:
    from facemotion.serving.static_site import RUNTIME_DIR, RUNTIME_WASM, runtime_wasm_gz

    url = f"/{RUNTIME_DIR}/{RUNTIME_WASM}"
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"
    assert packed.headers["content-type"] == "application/wasm"
    assert int(packed.headers["content-length"]) == runtime_wasm_gz().stat().st_size
    assert packed.content[:4] == b"\0asm"  # the client undid the encoding
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == packed.content
    manifest = client.get("/site.json").json()
    exported = export_site(tmp_path / "site")
    assert (tmp_path / "site" / RUNTIME_DIR / RUNTIME_WASM).read_bytes() == plain.content
    assert not list((tmp_path / "site").rglob("*.gz"))
    assert exported["runtime"]["bytes"] - manifest["runtime"]["bytes"] == len(plain.content) - int(
        packed.headers["content-length"])
