#!/usr/bin/env python3
"""Build, serve and test the in-browser background remover.

    python3 build.py serve [--port N]   build if needed, then serve the app on 127.0.0.1
    python3 build.py test [pytest args] build if needed, then run every test
    python3 build.py eval [args]        score mask quality (python3 build.py eval --help)
    python3 build.py bench [args]       time ours against @imgly/background-removal (bench --help)
    python3 build.py bench-presets      what balanced and best cost against fast on 12 MP photos
    python3 build.py build [--out DIR]  only build (--out: also write the deployable site to DIR)

Standard library only at the top level: everything else (pytest, Playwright,
numpy, onnxruntime) goes into the project's own .venv, pinned in
assets.lock.json, which is also the one place that says where every runtime
asset comes from and what its sha256 is. Downloads are cached outside the repo
(BGREMOVE_CACHE, default ~/.cache/bgremove) so a rebuild needs no network.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import io
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.parse
import urllib.request
import zipfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = json.loads((ROOT / "assets.lock.json").read_text())
VENDOR = ROOT / "static" / "vendor"
VENV = ROOT / ".venv"
CACHE = Path(os.environ.get("BGREMOVE_CACHE", Path.home() / ".cache" / "bgremove"))
DOWNLOADS = CACHE / "downloads"
TEST_IMAGES = CACHE / "test-images"
VITE_APP = ROOT / "tests" / "vite-app"
BENCH_PEER = ROOT / "tests" / "bench" / "imgly"
BENCH_PEER_FILES = ("index.html", "main.js")
PACKAGE_DIR = ROOT / "py"
PACKAGE_NAME = "bgremove"
CDN_TIMEOUT_S = 5
# Only these paths are served: never the venv, the git directory or the tests.
SERVED = ("index.html", "sw.js", "worker.js", "static/")
# The "another site" that embeds the app from a second origin (its own port).
EXAMPLE_SERVED = ("examples/",)


class BuildError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"build.py: {message}")


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(partial(f.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(name: str, data_sha: str, expected: str) -> None:
    if data_sha != expected:
        raise BuildError(f"checksum mismatch for {name}: expected sha256 {expected}, got {data_sha}")


# ---------------------------------------------------------------- virtual env

def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create .venv and install the pinned requirements when they changed."""
    python = venv_python()
    if not python.exists():
        log("creating .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    requirements = LOCK["python"]["requirements"]
    stamp = VENV / "requirements.lock"
    wanted = "\n".join(requirements) + "\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        log("installing pinned Python requirements into .venv")
        subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements],
                       check=True)
        stamp.write_text(wanted)
    # The package is used straight from py/, like an editable install.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    pth = Path(site) / f"{PACKAGE_NAME}-source.pth"
    if not pth.exists() or pth.read_text().strip() != str(PACKAGE_DIR):
        pth.write_text(f"{PACKAGE_DIR}\n")
    return python


# ------------------------------------------------------------------ downloads

def fetch(key: str) -> Path:
    """Return the cached, verified download named `key` in the lock, fetching it once."""
    entry = LOCK["downloads"][key]
    target = DOWNLOADS / entry["file"]
    if target.exists():
        verify(entry["file"], sha256_file(target), entry["sha256"])
        return target
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    staging = DOWNLOADS / f".staging-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"fetching {entry['spec']} from the {entry['registry']} registry")
    if entry["registry"] == "npm":
        if shutil.which("npm") is None:
            raise BuildError("npm is needed to fetch from the npm registry: install Node.js and npm (apt-get install npm)")
        cmd = ["npm", "pack", entry["spec"], "--pack-destination", str(staging), "--silent"]
    else:
        cmd = [str(ensure_venv()), "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
               "--only-binary=:all:", "-d", str(staging), *entry.get("pip_args", []), entry["spec"]]
    result = subprocess.run(cmd, capture_output=True, text=True)
    got = staging / entry["file"]
    if result.returncode != 0 or not got.exists():
        raise BuildError(f"could not fetch {entry['file']} ({entry['spec']}):\n{result.stderr.strip()}")
    verify(entry["file"], sha256_file(got), entry["sha256"])
    got.replace(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def tar_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(f"package/{name}")
    if member is None:
        raise BuildError(f"{name} is missing from {tar.name}")
    return member.read()


# -------------------------------------------------------------------- pyodide

_cdn_reachable = True  # tried once per build; after one failure the PyPI copies serve the rest


def pyodide_wheel(file_name: str, expected: str) -> bytes:
    """One Pyodide package file: from the cache, Pyodide's CDN, or the byte-identical PyPI copies."""
    cached = CACHE / "pyodide" / file_name
    if cached.exists():
        data = cached.read_bytes()
        verify(file_name, sha256_bytes(data), expected)
        return data
    spec = LOCK["pyodide"]
    global _cdn_reachable
    data = None
    if _cdn_reachable:
        try:
            with urllib.request.urlopen(spec["cdn"] + file_name, timeout=CDN_TIMEOUT_S) as response:
                data = response.read()
        except OSError as error:
            log(f"Pyodide's CDN is unreachable ({error}); using the copies from PyPI instead")
            _cdn_reachable = False
    if data is None:
        copies = spec["copies"]
        with zipfile.ZipFile(fetch(copies["from"])) as archive:
            try:
                data = archive.read(copies["prefix"] + file_name)
            except KeyError:
                raise BuildError(f"{file_name} is missing from {LOCK['downloads'][copies['from']]['file']}") from None
    verify(file_name, sha256_bytes(data), expected)
    write_if_changed(cached, data)
    return data


def build_pyodide() -> dict:
    spec = LOCK["pyodide"]
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


# ----------------------------------------------------------- onnxruntime-web

def build_ort() -> dict:
    spec = LOCK["onnxruntime-web"]
    with tarfile.open(fetch(spec["from"])) as tar:
        version = json.loads(tar_member(tar, "package.json"))["version"]
        for name in spec["files"] + spec["webgpu_files"]:
            write_if_changed(VENDOR / "ort" / Path(name).name, tar_member(tar, name))
    return {"version": version}


# --------------------------------------------------------------------- models

def model_bytes(model: dict) -> bytes:
    source = fetch(model["from"])
    if "resource" in model:
        # @imgly/background-removal-data ships each model as chunks named by their hash.
        with tarfile.open(source) as tar:
            resources = json.loads(tar_member(tar, "dist/resources.json"))
            chunks = resources[model["resource"]]["chunks"]
            return b"".join(tar_member(tar, f"dist/{chunk['hash']}") for chunk in chunks)
    with zipfile.ZipFile(source) as archive:
        return archive.read(model["member"])


# py/model_graphs.py's steps, as the lock names them, and its command-line flags.
REWRITE_STEPS = {"keep_outputs": "--keep-outputs", "floor_pooling": "--floor-pooling", "float32": "--float32",
                 "integer_convs_as_float": "--integer-convs-as-float"}


def build_models() -> list[dict]:
    listing = []
    for model_id, model in LOCK["models"].items():
        target = VENDOR / "models" / model["file"]
        served = model.get("rewrite", model)  # the file the app serves: the download, or its rewrite
        if not (target.exists() and sha256_file(target) == served["sha256"]):
            log(f"assembling model {model_id}")
            data = model_bytes(model)
            verify(model["file"], sha256_bytes(data), model["sha256"])
            if "rewrite" in model:
                data = rewrite_graph(model["file"], data, model["rewrite"])
            write_if_changed(target, data)
        entry = {"id": model_id, "file": model["file"], "bytes": served["bytes"], "sha256": served["sha256"],
                 "licence": model["licence"], "label": model["label"]}
        if "rewrite" in model:
            entry["rewrite"] = {**rewrite_steps(model["rewrite"]), "source_sha256": model["sha256"]}
        if "webgpu" in model:
            entry["webgpu"] = build_variant(model["webgpu"], target, served["sha256"])
        listing.append(entry)
    notice = ["# Model weights and their licences", ""] + [
        f"- `{m['file']}`: {m['label']}, licence {m['licence']}, "
        f"from {LOCK['downloads'][m['from']]['registry']} `{LOCK['downloads'][m['from']]['spec']}`"
        + (f" (and `{m['webgpu']['file']}`, the same weights for WebGPU)" if "webgpu" in m else "")
        for m in LOCK["models"].values()]
    write_if_changed(VENDOR / "models" / "LICENCES.md", ("\n".join(notice) + "\n").encode())
    return listing


def build_variant(variant: dict, source: Path, source_sha256: str) -> dict:
    """A model's WebGPU variant: the served file (already checked) rewritten once more (see assets.lock.json)."""
    target = VENDOR / "models" / variant["file"]
    if not (target.exists() and sha256_file(target) == variant["sha256"]):
        log(f"rewriting {source.name} as {variant['file']}")
        write_if_changed(target, rewrite_graph(variant["file"], source.read_bytes(), variant))
    entry = {"file": variant["file"], "bytes": variant["bytes"], "sha256": variant["sha256"],
             "rewrite": {**rewrite_steps(variant), "source_sha256": source_sha256}}
    if "unless_feature" in variant:
        entry["unless_feature"] = variant["unless_feature"]
    return entry


def rewrite_steps(spec: dict) -> dict:
    return {step: spec[step] for step in REWRITE_STEPS if step in spec}


def rewrite_graph(name: str, data: bytes, rewrite: dict) -> bytes:
    """The model rewritten by py/model_graphs.py (in .venv, for the onnx package) with the lock's steps.

    The result is pinned like a download: the same source and onnx version give the same bytes.
    """
    python = ensure_venv()
    work = CACHE / "graphs"
    work.mkdir(parents=True, exist_ok=True)
    source, target = work / f"source-{name}", work / name
    source.write_bytes(data)
    flags = []
    for step, value in rewrite_steps(rewrite).items():
        flags += [REWRITE_STEPS[step], *value] if isinstance(value, list) else [REWRITE_STEPS[step]]
    try:
        subprocess.run([str(python), "-m", "model_graphs", str(source), str(target), *flags], check=True)
        result = target.read_bytes()
    finally:
        source.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
    verify(f"{name} (rewritten)", sha256_bytes(result), rewrite["sha256"])
    return result


# -------------------------------------------------------------- own package

def package_version() -> str:
    for line in (PACKAGE_DIR / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise BuildError("py/pyproject.toml has no version")


def build_wheel() -> dict:
    """A pure-Python wheel of py/bgremove, byte-for-byte reproducible, for micropip."""
    version = package_version()
    dist_info = f"{PACKAGE_NAME}-{version}.dist-info"
    files = {}
    for path in sorted((PACKAGE_DIR / PACKAGE_NAME).rglob("*.py")):
        files[path.relative_to(PACKAGE_DIR).as_posix()] = path.read_bytes()
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {PACKAGE_NAME}\nVersion: {version}\n"
        "Requires-Dist: numpy\nRequires-Dist: pillow\n").encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(f"{name},sha256={_record_hash(data)},{len(data)}\n" for name, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    name = f"{PACKAGE_NAME}-{version}-py3-none-any.whl"
    data = buffer.getvalue()
    for stale in (VENDOR / "wheels").glob("*.whl") if (VENDOR / "wheels").exists() else ():
        if stale.name != name:
            stale.unlink()
    write_if_changed(VENDOR / "wheels" / name, data)
    return {"file": name, "sha256": sha256_bytes(data)}


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# ---------------------------------------------------------------------- build

def build() -> None:
    manifest = {
        "pyodide": build_pyodide(),
        "onnxruntime_web": build_ort(),
        "models": build_models(),
        "wheel": build_wheel(),
    }
    manifest["runtime"] = runtime_listing()
    write_if_changed(VENDOR / "build.json", (json.dumps(manifest, indent=1) + "\n").encode())
    log(f"static/vendor is ready ({manifest['wheel']['file']})")


def export_site(out: Path) -> None:
    """The deployable site as one folder: what the server serves, nothing else (hard links where possible)."""
    for entry in SERVED:
        source = ROOT / entry
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            target = out / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
    log(f"the site is in {out}: copy this folder to any host that sends the headers in README.md")


def runtime_listing() -> list[dict]:
    """Every file the worker loads besides the models, with its sha256: the browser checks each before use.

    Files marked webgpu are the WebGPU runtime, which a worker fetches only when it will use WebGPU.
    """
    webgpu = {Path(name).name for name in LOCK["onnxruntime-web"]["webgpu_files"]}
    return [{"path": path.relative_to(VENDOR).as_posix(), "bytes": path.stat().st_size, "sha256": sha256_file(path),
             **({"webgpu": True} if folder == "ort" and path.name in webgpu else {})}
            for folder in ("pyodide", "ort", "wheels") for path in sorted((VENDOR / folder).iterdir())]


def prepare_test_images() -> Path:
    spec = LOCK["test_images"]
    with zipfile.ZipFile(fetch(spec["from"])) as archive:
        for member in spec["members"]:
            write_if_changed(TEST_IMAGES / Path(member).name, archive.read(member))
    return TEST_IMAGES


def npm_ci(app: Path, what: str) -> Path:
    """An npm app's pinned packages, installed by npm ci outside the repo, once per lockfile.

    package-lock.json pins every package and its checksum; npm checks each download against it.
    """
    lock = (app / "package-lock.json").read_bytes()
    target = CACHE / f"{app.name}-{sha256_bytes(lock)[:16]}"
    if not (target / "node_modules" / ".bin" / "vite").exists():
        if shutil.which("npm") is None:
            raise BuildError(f"npm is needed for {what}: install Node.js and npm (apt-get install npm)")
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(app / name, target / name)
        log(f"installing the pinned packages of {what} (npm ci)")
        result = subprocess.run(["npm", "ci", "--cache", str(CACHE / "npm"), "--prefer-offline", "--no-audit",
                                 "--no-fund", "--silent"], cwd=target, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"npm ci failed for {what}:\n{result.stderr.strip()}")
    return target


def prepare_vite_app() -> Path:
    """tests/vite-app's dev dependencies (Vite), for the bundler test."""
    return npm_ci(VITE_APP, "the Vite test app")


def prepare_bench_peer() -> Path:
    """The benchmark's peer page, @imgly/background-removal 1.4.5 bundled by Vite, with its data as data/.

    Built outside the repo and never shipped. Its data is the @imgly/background-removal-data
    1.4.5 package the build already fetches and checks for the IS-Net models.
    """
    app = npm_ci(BENCH_PEER, "the benchmark's peer page")
    sources = [BENCH_PEER / name for name in BENCH_PEER_FILES]
    stamp = sha256_bytes(b"".join(path.read_bytes() for path in sources))
    dist = app / "dist"
    built = dist / f".built-from-{stamp[:16]}"
    if not built.exists():
        for path in sources:
            shutil.copy(path, app / path.name)
        (dist / "data").unlink(missing_ok=True)  # the data link below, so that vite's clean-up leaves the data alone
        log("bundling the benchmark's peer page (vite build)")
        result = subprocess.run([str(app / "node_modules" / ".bin" / "vite"), "build", "--logLevel", "error"],
                                cwd=app, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"vite build failed for the benchmark's peer page:\n{result.stderr.strip()}")
        built.touch()
    data = CACHE / LOCK["downloads"]["imgly-data"]["file"].removesuffix(".tgz")
    if not data.exists():
        partial = data.with_name(data.name + ".partial")  # renamed when whole, so an interrupted run starts over
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(fetch("imgly-data")) as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.startswith("package/dist/"):
                    name = member.name.removeprefix("package/")
                    write_if_changed(partial / name.removeprefix("dist/"), tar_member(archive, name))
        partial.rename(data)
    link = dist / "data"
    if not link.is_symlink():
        link.symlink_to(data, target_is_directory=True)
    return dist


# ---------------------------------------------------------------------- serve

class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".json": "application/json", ".onnx": "application/octet-stream", ".whl": "application/zip",
    }

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=str(server.root))

    def send_head(self):
        # Judge the path as the file system will see it: unquoted and normalised.
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        relative = posixpath.normpath(path).lstrip("/")
        if relative in ("", "."):
            relative = self.server.index
            self.path = "/" + relative
        if not any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in self.server.served):
            self.send_error(404)
            return None
        return super().send_head()

    def end_headers(self):
        # Cross-origin isolation, so SharedArrayBuffer and wasm threads are available.
        if self.server.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        # Other sites may embed the worker from here: its module, runtime and models load over CORS.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(port: int = 0, verbose: bool = False, served: tuple[str, ...] = SERVED,
                index: str = "index.html", root: Path = ROOT,
                isolated: bool = True) -> http.server.ThreadingHTTPServer:
    """isolated=False leaves out COOP/COEP, as a host that does not send them (the tests' single-thread case)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.verbose = verbose
    server.served, server.index, server.root, server.isolated = served, index, root, isolated
    return server


def serve(port: int) -> None:
    build()
    try:
        app = make_server(port, verbose=True)
        example = make_server(port + 1 if port else 0, verbose=True, served=EXAMPLE_SERVED,
                              index="examples/embed.html")
    except OSError as error:
        raise BuildError(f"cannot listen on 127.0.0.1:{port} or the next port ({error}); try --port 0") from None
    app_url = f"http://127.0.0.1:{app.server_address[1]}/"
    threading.Thread(target=example.serve_forever, daemon=True).start()
    print(f"Serving the app at {app_url}  (Ctrl+C stops)", flush=True)
    print(f"Another site embedding it: http://127.0.0.1:{example.server_address[1]}/?assets={app_url}static/",
          flush=True)
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        pass


# ----------------------------------------------------------------------- test

def test(pytest_args: list[str]) -> int:
    python = ensure_venv()
    build()
    prepare_test_images()
    prepare_vite_app()
    return subprocess.run([str(python), "-m", "pytest", "-c", str(ROOT / "tests" / "pytest.ini"),
                           "--rootdir", str(ROOT), *pytest_args], cwd=ROOT).returncode


def run_bench(script: str, args: list[str], *extra: str) -> int:
    """A benchmark driver from tests/bench/, in .venv, on a fresh build and build.py's test photos."""
    python = ensure_venv()
    build()
    return subprocess.run([str(python), str(ROOT / "tests" / "bench" / script), *extra,
                           "--photos", str(prepare_test_images()), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="fetch, verify and assemble static/vendor")
    build_parser.add_argument("--out", type=Path, help="also write the deployable site into this folder")
    serve_parser = commands.add_parser("serve", help="build if needed, then serve on 127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (default 8000)")
    commands.add_parser("test", help="build if needed, then run every test (extra arguments go to pytest)")
    commands.add_parser("eval", help="score mask quality on ../shared/evalset, or cut out --images DIR into --out DIR"
                                     " (see python3 build.py eval --help)", add_help=False)
    commands.add_parser("bench", help="time ours against @imgly/background-removal in headless Chromium, write "
                                      "docs/bench.md (see python3 build.py bench --help)", add_help=False)
    commands.add_parser("bench-presets", help="time fast, balanced and best on 12-megapixel photos in headless "
                                              "Chromium, write docs/bench-presets.md", add_help=False)
    commands.add_parser("bench-devices", help="time inference on wasm against webgpu for every model in headless "
                                              "Chromium, write docs/bench-devices.md", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "test":
        return test(rest)
    if args.command == "bench":
        return run_bench("bench.py", rest, "--peer", str(prepare_bench_peer()))
    if args.command == "bench-presets":
        return run_bench("presets.py", rest)
    if args.command == "bench-devices":
        return run_bench("devices.py", rest)
    if args.command == "eval":
        python = ensure_venv()
        build()
        return subprocess.run([str(python), "-m", "bgremove.evaluation", *rest], cwd=ROOT).returncode
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "build":
        build()
        if args.out:
            export_site(args.out.resolve())
    else:
        serve(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
