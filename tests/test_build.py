"""build.py: checksums, the shipped Pyodide lock, and what the server sends."""
import json
import urllib.error
import urllib.request

import pytest

import build
from conftest import ROOT, App, serving


def test_a_checksum_mismatch_names_the_file_and_both_sums(tmp_path):
    with pytest.raises(SystemExit) as caught:
        build.verify("u2netp.onnx", "ab" * 32, "cd" * 32)
    message = str(caught.value.code)
    assert "u2netp.onnx" in message and "cd" * 32 in message and "ab" * 32 in message


def test_a_tampered_cached_download_stops_the_build(tmp_path, monkeypatch):
    entry = build.LOCK["downloads"]["rembg-lite"]
    (tmp_path / entry["file"]).write_bytes(b"tampered")
    monkeypatch.setattr(build, "DOWNLOADS", tmp_path)
    with pytest.raises(SystemExit) as caught:
        build.fetch("rembg-lite")
    assert entry["file"] in str(caught.value.code) and entry["sha256"] in str(caught.value.code)


def test_shipped_pyodide_lock_lists_only_what_is_shipped():
    lock = json.loads((ROOT / "static/vendor/pyodide/pyodide-lock.json").read_text())
    assert sorted(lock["packages"]) == ["micropip", "numpy", "packaging", "pillow"]
    for package in lock["packages"].values():
        path = ROOT / "static/vendor/pyodide" / package["file_name"]
        assert build.sha256_file(path) == package["sha256"]


def test_vendor_models_match_the_lock():
    """Each served model is the download, or its rewrite, exactly as pinned; build.json says which."""
    listed = {entry["id"]: entry for entry in json.loads((ROOT / "static/vendor/build.json").read_text())["models"]}
    for model_id, model in build.LOCK["models"].items():
        served = model.get("rewrite", model)
        assert build.sha256_file(ROOT / "static/vendor/models" / model["file"]) == served["sha256"]
        assert listed[model_id]["sha256"] == served["sha256"] and listed[model_id]["bytes"] == served["bytes"]
        if "rewrite" in model:
            assert listed[model_id]["rewrite"]["source_sha256"] == model["sha256"]
        if "webgpu" in model:  # the WebGPU variant, rewritten from the served file
            variant, entry = model["webgpu"], listed[model_id]["webgpu"]
            assert build.sha256_file(ROOT / "static/vendor/models" / variant["file"]) == variant["sha256"]
            assert (entry["file"], entry["sha256"], entry["bytes"]) == (variant["file"], variant["sha256"],
                                                                        variant["bytes"])
            assert entry["rewrite"]["source_sha256"] == served["sha256"]


def test_the_wheel_is_reproducible():
    first = build.build_wheel()
    assert build.build_wheel() == first


def head(url: str):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@pytest.mark.parametrize("path,mime", [("", "text/html"), ("worker.js", "text/javascript"),
                                       ("static/vendor/ort/ort-wasm-simd-threaded.wasm", "application/wasm"),
                                       ("static/vendor/ort/ort-wasm-simd-threaded.mjs", "text/javascript")])
def test_server_sends_isolation_headers_and_mime_types(server, path, mime):
    status, headers = head(server + path)
    assert status == 200 and headers["Content-Type"].startswith(mime)
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Cross-Origin-Resource-Policy"]


@pytest.mark.parametrize("path", ["build.py", "assets.lock.json", ".venv/pyvenv.cfg", ".git/HEAD",
                                  "static/../build.py", "static/%2e%2e/build.py",
                                  "static/%2E%2E/.git/HEAD", "tests/conftest.py"])
def test_server_serves_only_the_app(server, path):
    assert head(server + path)[0] == 404


@pytest.mark.browser
def test_the_exported_folder_is_the_whole_site(tmp_path, chromium, images):
    site = tmp_path / "site"
    build.export_site(site)
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "static", "sw.js", "worker.js"]
    with serving(root=site) as (_, url):
        page = chromium.new_page()
        app = App(page, url).open("?model=u2netp&preset=fast")
        card = app.submit([images / "coffee.png"])[0]
        assert card["state"] == "done", card["status"]
        assert not app.errors, app.errors
        page.close()
