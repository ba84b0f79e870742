"""Assemble static/vendor/: Pyodide, onnxruntime-web, the models, our wheel, and the build manifest.

Every file comes from a checked download (assets.py); every file we derive (a rewritten graph)
is checked against its own pin in the lock. static/vendor/build.json lists what the browser
loads with its sha256, and carries the facts the JavaScript needs from Python's tables (models,
output formats, devices, presets), so that each is written down once.
"""
from __future__ import annotations

import json
import os
import shutil
import tarfile
import urllib.request
import zipfile
from dataclasses import asdict
from pathlib import Path

from bgremove.formats import OUTPUT_FORMATS
from bgremove.models import DEFAULT_MODEL, MODELS
from bgremove.options import BROWSER_DEVICES, PRESETS

from . import headers, wheel
from .assets import (CACHE, ROOT, VENDOR, BuildError, fetch, lock, log, sha256_bytes, sha256_file, tar_member,
                     verify, write_if_changed)

CDN_TIMEOUT_S = 5
# What a deployed site consists of: build.py serve serves these and nothing else.
SITE = ("index.html", "sw.js", "worker.js", "static/")


class _Cdn:
    reachable = True  # tried once per build; after one failure the PyPI copies serve the rest


def pyodide_wheel(file_name: str, expected: str) -> bytes:
    """One Pyodide package file: from the cache, Pyodide's CDN, or the byte-identical PyPI copies."""
    cached = CACHE / "pyodide" / file_name
    if cached.exists():
        data = cached.read_bytes()
        verify(file_name, sha256_bytes(data), expected)
        return data
    spec = lock()["pyodide"]
    data = None
    if _Cdn.reachable:
        try:
            with urllib.request.urlopen(spec["cdn"] + file_name, timeout=CDN_TIMEOUT_S) as response:
                data = response.read()
        except OSError as error:
            log(f"Pyodide's CDN is unreachable ({error}); using the copies from PyPI instead")
            _Cdn.reachable = False
    if data is None:
        copies = spec["copies"]
        with zipfile.ZipFile(fetch(copies["from"])) as archive:
            try:
                data = archive.read(copies["prefix"] + file_name)
            except KeyError:
                raise BuildError(f"{file_name} is missing from {lock()['downloads'][copies['from']]['file']}") from None
    verify(file_name, sha256_bytes(data), expected)
    write_if_changed(cached, data)
    return data


def build_pyodide() -> dict:
    spec = lock()["pyodide"]
    out = VENDOR / "pyodide"
    with tarfile.open(fetch(spec["from"])) as tar:
        for name in spec["core"]:
            write_if_changed(out / name, tar_member(tar, name))
    official = json.loads((out / "pyodide-lock.json").read_text())
    wanted = set(spec["packages"])
    for name in spec["packages"]:
        wanted.update(official["packages"][name]["depends"])
    # The shipped lock lists only what is shipped, so importing anything else fails by name.
    trimmed = {"info": official["info"], "packages": {}}
    for name in sorted(wanted):
        package = official["packages"][name]
        write_if_changed(out / package["file_name"], pyodide_wheel(package["file_name"], package["sha256"]))
        trimmed["packages"][name] = package
    write_if_changed(out / "pyodide-lock.json", (json.dumps(trimmed, indent=1) + "\n").encode())
    return {"version": official["info"]["version"], "packages": sorted(wanted)}


def build_ort() -> dict:
    spec = lock()["onnxruntime-web"]
    with tarfile.open(fetch(spec["from"])) as tar:
        version = json.loads(tar_member(tar, "package.json"))["version"]
        for name in spec["files"] + spec["webgpu_files"]:
            write_if_changed(VENDOR / "ort" / Path(name).name, tar_member(tar, name))
    return {"version": version}


def build_zip_writer() -> dict:
    """client-zip, the page's zip writer: its module and licence, as the npm package ships them."""
    spec = lock()["client-zip"]
    with tarfile.open(fetch(spec["from"])) as tar:
        version = json.loads(tar_member(tar, "package.json"))["version"]
        for name in spec["files"]:
            write_if_changed(VENDOR / "client-zip" / name, tar_member(tar, name))
    return {"version": version, "files": [f"static/vendor/client-zip/{name}" for name in spec["files"]]}


def model_bytes(model_id: str) -> bytes:
    """A model's file exactly as its package ships it (checked by the caller)."""
    source = lock()["models"][model_id]
    archive_path = fetch(source["from"])
    if "resource" in source:
        # @imgly/background-removal-data ships each model as chunks named by their hash.
        with tarfile.open(archive_path) as tar:
            resources = json.loads(tar_member(tar, "dist/resources.json"))
            chunks = resources[source["resource"]]["chunks"]
            return b"".join(tar_member(tar, f"dist/{chunk['hash']}") for chunk in chunks)
    with zipfile.ZipFile(archive_path) as archive:
        return archive.read(source["member"])


def served_model_files(model_id: str) -> list[str]:
    """The files the app serves for a model: its own and, if it has one, its WebGPU variant's."""
    variant = lock()["models"][model_id].get("webgpu")
    return [MODELS[model_id].file, *([variant["file"]] if variant else [])]


def build_models() -> list[dict]:
    listing = []
    for model_id, source in lock()["models"].items():
        spec = MODELS[model_id]
        target = VENDOR / "models" / spec.file
        served = source.get("rewrite", source)  # the file the app serves: the download, or its rewrite
        if not (target.exists() and sha256_file(target) == served["sha256"]):
            log(f"assembling model {model_id}")
            data = model_bytes(model_id)
            verify(spec.file, sha256_bytes(data), source["sha256"])
            if "rewrite" in source:
                data = rewritten(spec.file, data, source["rewrite"])
            write_if_changed(target, data)
        entry = {"id": model_id, "file": spec.file, "bytes": served["bytes"], "sha256": served["sha256"],
                 "licence": spec.licence, "label": spec.label, "speed": spec.speed, "input_size": spec.size}
        if "rewrite" in source:
            entry["rewrite"] = {**_steps(source["rewrite"]), "source_sha256": source["sha256"]}
        if "webgpu" in source:
            entry["webgpu"] = build_variant(source["webgpu"], target, served["sha256"])
        listing.append(entry)
    notice = ["# Model weights and their licences", ""]
    for model_id, source in lock()["models"].items():
        download = lock()["downloads"][source["from"]]
        spec = MODELS[model_id]
        variant = f" (and `{source['webgpu']['file']}`, the same weights for WebGPU)" if "webgpu" in source else ""
        notice.append(f"- `{spec.file}`: {spec.label}, licence {spec.licence}, "
                      f"from {download['registry']} `{download['spec']}`{variant}")
    write_if_changed(VENDOR / "models" / "LICENCES.md", ("\n".join(notice) + "\n").encode())
    return listing


def build_variant(variant: dict, source: Path, source_sha256: str) -> dict:
    """A model's WebGPU variant: the served file (already checked) rewritten once more (see assets.lock.json)."""
    target = VENDOR / "models" / variant["file"]
    if not (target.exists() and sha256_file(target) == variant["sha256"]):
        log(f"rewriting {source.name} as {variant['file']}")
        write_if_changed(target, rewritten(variant["file"], source.read_bytes(), variant))
    entry = {"file": variant["file"], "bytes": variant["bytes"], "sha256": variant["sha256"],
             "rewrite": {**_steps(variant), "source_sha256": source_sha256}}
    if "unless_feature" in variant:
        entry["unless_feature"] = variant["unless_feature"]
    return entry


def _steps(spec: dict) -> dict:
    from .graphs import STEPS

    return {step: spec[step] for step in STEPS if step in spec}


def rewritten(name: str, data: bytes, spec: dict) -> bytes:
    """The graph rewritten with the lock's steps (graphs.py), checked against the lock's pin for the result."""
    from . import graphs  # the onnx package, loaded only when a graph is rewritten

    result = graphs.rewrite_bytes(data, _steps(spec))
    verify(f"{name} (rewritten)", sha256_bytes(result), spec["sha256"])
    return result


def runtime_listing() -> list[dict]:
    """Every file the worker loads besides the models, with its sha256: the browser checks each before use.

    Files marked webgpu are the WebGPU runtime, which a worker fetches only when it will use WebGPU.
    """
    webgpu = {Path(name).name for name in lock()["onnxruntime-web"]["webgpu_files"]}
    return [{"path": path.relative_to(VENDOR).as_posix(), "bytes": path.stat().st_size, "sha256": sha256_file(path),
             **({"webgpu": True} if folder == "ort" and path.name in webgpu else {})}
            for folder in ("pyodide", "ort", "wheels") for path in sorted((VENDOR / folder).iterdir())]


def build() -> None:
    manifest = {
        "pyodide": build_pyodide(),
        "onnxruntime_web": build_ort(),
        "client_zip": build_zip_writer(),
        "models": build_models(),
        "default_model": DEFAULT_MODEL,
        "wheel": wheel.build(VENDOR / "wheels"),
        "formats": [asdict(fmt) for fmt in OUTPUT_FORMATS.values()],
        "devices": list(BROWSER_DEVICES),
        "presets": list(PRESETS),
        "site": [path.relative_to(ROOT).as_posix() for path in site_files() if VENDOR not in path.parents],
    }
    manifest["site"] += manifest["client_zip"]["files"]  # the page's own vendored module, kept offline with it
    manifest["runtime"] = runtime_listing()
    write_if_changed(VENDOR / "build.json", (json.dumps(manifest, indent=1) + "\n").encode())
    log(f"static/vendor is ready ({manifest['wheel']['file']})")


def site_files() -> list[Path]:
    files = []
    for entry in SITE:
        source = ROOT / entry
        files += sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    return files


def export_site(out: Path) -> None:
    """The deployable site as one folder: what the server serves, nothing else (hard links where possible)."""
    for path in site_files():
        target = out / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    (out / "_headers").write_text(headers.headers_file())
    log(f"the site is in {out}: copy this folder to any host that sends the headers in its _headers file")
