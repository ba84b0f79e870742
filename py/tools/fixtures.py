"""What the tests and benchmarks need besides the app: photos, npm apps' packages, the benchmark's peer.

All of it outside the repo (under the cache), all of it pinned: the photos by the lock, the npm
apps by their package-lock.json, whose checksums npm checks.
"""
from __future__ import annotations

import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from .assets import CACHE, ROOT, BuildError, fetch, lock, log, require_npm, sha256_bytes, tar_member, write_if_changed

TEST_IMAGES = CACHE / "test-images"
VITE_APP = ROOT / "tests" / "vite-app"
BENCH_PEER = ROOT / "tests" / "bench" / "imgly"
BENCH_PEER_FILES = ("index.html", "main.js")


def test_images() -> Path:
    """Real photographs shipped in scikit-image's wheel."""
    spec = lock()["test_images"]
    with zipfile.ZipFile(fetch(spec["from"])) as archive:
        for member in spec["members"]:
            write_if_changed(TEST_IMAGES / Path(member).name, archive.read(member))
    return TEST_IMAGES


def npm_ci(app: Path, what: str) -> Path:
    """An npm app's pinned packages, installed by npm ci outside the repo, once per lockfile."""
    lockfile = (app / "package-lock.json").read_bytes()
    target = CACHE / f"{app.name}-{sha256_bytes(lockfile)[:16]}"
    if not (target / "node_modules" / ".package-lock.json").exists():  # npm ci writes it last
        require_npm(what)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(app / name, target / name)
        log(f"installing the pinned packages of {what} (npm ci)")
        result = subprocess.run(["npm", "ci", "--cache", str(CACHE / "npm"), "--prefer-offline", "--no-audit",
                                 "--no-fund", "--silent"], cwd=target, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"npm ci failed for {what}:\n{result.stderr.strip()}")
    return target


def vite_app() -> Path:
    """tests/vite-app's dev dependencies (Vite), for the bundler test."""
    return npm_ci(VITE_APP, "the Vite test app")


def bench_peer() -> Path:
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
    data = CACHE / lock()["downloads"]["imgly-data"]["file"].removesuffix(".tgz")
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
