"""Where every artifact comes from: assets.lock.json read, downloads fetched once, checked, cached.

assets.lock.json is the one place that names each download's registry, spec and sha256. Downloads
are cached outside the repo (BGREMOVE_CACHE, default ~/.cache/bgremove), so a rebuild needs no
network; a cached file is checked again every time it is used.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from functools import cache, partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
CACHE = Path(os.environ.get("BGREMOVE_CACHE", Path.home() / ".cache" / "bgremove"))
DOWNLOADS = CACHE / "downloads"


class BuildError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"build.py: {message}")


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


@cache
def lock() -> dict:
    return json.loads((ROOT / "assets.lock.json").read_text())


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


def fetch(key: str, downloads: Path = DOWNLOADS) -> Path:
    """The cached, verified download named `key` in the lock, fetched once with the registry's own client."""
    entry = lock()["downloads"][key]
    target = downloads / entry["file"]
    if target.exists():
        verify(entry["file"], sha256_file(target), entry["sha256"])
        return target
    downloads.mkdir(parents=True, exist_ok=True)
    staging = downloads / f".staging-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"fetching {entry['spec']} from the {entry['registry']} registry")
    if entry["registry"] == "npm":
        require_npm(f"fetching {entry['spec']}")
        cmd = ["npm", "pack", entry["spec"], "--pack-destination", str(staging), "--silent"]
    elif entry["registry"] == "debian":
        if shutil.which("apt-get") is None:
            raise BuildError(f"apt-get is needed for fetching {entry['spec']} (a Debian package)")
        cmd = ["apt-get", "download", "-q", entry["spec"]]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
               "--only-binary=:all:", "-d", str(staging), *entry.get("pip_args", []), entry["spec"]]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=staging)
    got = staging / entry["file"]
    if result.returncode != 0 or not got.exists():
        raise BuildError(f"could not fetch {entry['file']} ({entry['spec']}):\n{result.stderr.strip()}")
    verify(entry["file"], sha256_file(got), entry["sha256"])
    got.replace(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def require_npm(what: str) -> None:
    if shutil.which("npm") is None:
        raise BuildError(f"npm is needed for {what}: install Node.js and npm (apt-get install npm)")


def write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def tar_member(tar: tarfile.TarFile, name: str) -> bytes:
    """A file of an npm package tarball (its members live under package/)."""
    member = tar.extractfile(f"package/{name}")
    if member is None:
        raise BuildError(f"{name} is missing from {tar.name}")
    return member.read()
