"""The build tools (py/tools): checksums, the shipped Pyodide lock, the wheel, and what the server sends."""
import json
import urllib.error
import urllib.request
import zipfile

import pytest

from bgremove.models import DEFAULT_MODEL, MODELS
from conftest import ROOT, App, serving
from tools import assemble, assets, headers, wheel


def test_a_checksum_mismatch_names_the_file_and_both_sums(tmp_path):
    with pytest.raises(SystemExit) as caught:
        assets.verify("u2netp.onnx", "ab" * 32, "cd" * 32)
    message = str(caught.value.code)
    assert "u2netp.onnx" in message and "cd" * 32 in message and "ab" * 32 in message


def test_a_tampered_cached_download_stops_the_build(tmp_path, monkeypatch):
    entry = assets.lock()["downloads"]["rembg-lite"]
    (tmp_path / entry["file"]).write_bytes(b"tampered")
    with pytest.raises(SystemExit) as caught:
        assets.fetch("rembg-lite", downloads=tmp_path)
    assert entry["file"] in str(caught.value.code) and entry["sha256"] in str(caught.value.code)


def test_shipped_pyodide_lock_lists_only_what_is_shipped():
    lock = json.loads((ROOT / "static/vendor/pyodide/pyodide-lock.json").read_text())
    assert sorted(lock["packages"]) == ["micropip", "numpy", "packaging", "pillow"]
    for package in lock["packages"].values():
        path = ROOT / "static/vendor/pyodide" / package["file_name"]
        assert assets.sha256_file(path) == package["sha256"]


def test_vendor_models_match_the_lock():
    """Each served model is the download, or its rewrite, exactly as pinned; build.json says which."""
    listed = {entry["id"]: entry for entry in json.loads((ROOT / "static/vendor/build.json").read_text())["models"]}
    for model_id, model in assets.lock()["models"].items():
        served = model.get("rewrite", model)
        assert assets.sha256_file(ROOT / "static/vendor/models" / MODELS[model_id].file) == served["sha256"]
        assert listed[model_id]["sha256"] == served["sha256"] and listed[model_id]["bytes"] == served["bytes"]
        if "rewrite" in model:
            assert listed[model_id]["rewrite"]["source_sha256"] == model["sha256"]
        if "webgpu" in model:  # the WebGPU variant, rewritten from the served file
            variant, entry = model["webgpu"], listed[model_id]["webgpu"]
            assert assets.sha256_file(ROOT / "static/vendor/models" / variant["file"]) == variant["sha256"]
            assert (entry["file"], entry["sha256"], entry["bytes"]) == (variant["file"], variant["sha256"],
                                                                        variant["bytes"])
            assert entry["rewrite"]["source_sha256"] == served["sha256"]


def test_the_wheel_is_reproducible_and_holds_only_the_pipeline(tmp_path):
    first = wheel.build(tmp_path / "first", cached=False)  # built twice, not taken from the cache
    assert wheel.build(tmp_path / "second", cached=False) == first
    with zipfile.ZipFile(tmp_path / "first" / first["file"]) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert {name.split("/")[0] for name in names} == {"bgremove", "bgremove-0.1.0.dist-info"}
    assert not any("evaluation" in name or "metrics" in name for name in names), "development tools stay home"
    assert "bgremove = bgremove.cli:main" in entry_points, "pyproject.toml's scripts are in the wheel"


def test_the_manifest_carries_pythons_facts_for_the_javascript():
    from bgremove.formats import OUTPUT_FORMATS
    from bgremove.options import BROWSER_DEVICES, PRESETS

    manifest = json.loads((ROOT / "static/vendor/build.json").read_text())
    assert [entry["id"] for entry in manifest["models"]] == list(MODELS), "every model in the table is built"
    assert [f["name"] for f in manifest["formats"]] == list(OUTPUT_FORMATS) and manifest["devices"] == list(BROWSER_DEVICES)
    assert manifest["presets"] == list(PRESETS) and manifest["default_model"] == DEFAULT_MODEL
    assert "worker.js" in manifest["site"] and "static/shared/rpc.js" in manifest["site"], "the page's own files"
    for entry in manifest["models"]:
        spec = MODELS[entry["id"]]
        assert (entry["file"], entry["licence"], entry["label"], entry["input_size"]) == \
            (spec.file, spec.licence, spec.label, spec.size)


def head(url: str):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@pytest.mark.parametrize("path,mime", [("", "text/html"), ("worker.js", "text/javascript"),
                                       ("static/vendor/ort/ort-wasm-simd-threaded.wasm", "application/wasm"),
                                       ("static/vendor/ort/ort-wasm-simd-threaded.mjs", "text/javascript")])
def test_server_sends_isolation_and_security_headers_and_mime_types(server, path, mime):
    status, sent = head(server + path)
    assert status == 200 and sent["Content-Type"].startswith(mime)
    assert sent["Cross-Origin-Opener-Policy"] == "same-origin"
    assert sent["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert sent["Cross-Origin-Resource-Policy"]
    assert sent["X-Content-Type-Options"] == "nosniff" and sent["Referrer-Policy"] == "no-referrer"
    policy = sent["Content-Security-Policy"]
    if path == "":
        assert policy == headers.PAGE_POLICY and "camera=()" in sent["Permissions-Policy"]
        assert "unsafe-inline" not in policy and "blob:" not in policy.split("script-src")[1].split(";")[0]
    elif path == "worker.js":
        assert policy == headers.WORKER_POLICY and "'wasm-unsafe-eval'" in policy and "'unsafe-eval'" not in policy


# With nosniff, a browser uses a file only if its type is right.
TYPES = {".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".onnx": "application/octet-stream", ".whl": "application/zip",
         ".zip": "application/zip", ".css": "text/css", ".md": "text/markdown", ".txt": "text/plain"}


def test_every_file_of_the_site_is_sent_with_its_type(server):
    for path in assemble.site_files():
        relative = path.relative_to(ROOT).as_posix()
        status, sent = head(server + relative)
        assert status == 200 and sent["Content-Type"].split(";")[0] == TYPES[path.suffix], relative


@pytest.mark.parametrize("path", ["build.py", "assets.lock.json", ".venv/pyvenv.cfg", ".git/HEAD",
                                  "static/../build.py", "static/%2e%2e/build.py",
                                  "static/%2E%2E/.git/HEAD", "tests/conftest.py",
                                  "static/", "static/vendor/", "static/vendor/models/", "static/vendor/models",
                                  "static/engine"])
def test_server_serves_only_the_app(server, path):
    assert head(server + path)[0] == 404


@pytest.mark.browser
def test_the_exported_folder_is_the_whole_site(tmp_path, chromium, images):
    site = tmp_path / "site"
    assemble.export_site(site)
    assert sorted(p.name for p in site.iterdir()) == ["_headers", "index.html", "static", "sw.js", "worker.js"]
    assert (site / "_headers").read_text() == headers.headers_file()
    with serving(root=site) as (_, url):
        page = chromium.new_page()
        app = App(page, url).open("?model=u2netp&preset=fast")
        card = app.submit([images / "coffee.png"])[0]
        assert card["state"] == "done", card["status"]
        assert not app.errors, app.errors
        page.close()
