"""Our own wheel, for micropip in the browser: built by pip from py/pyproject.toml, reproducibly.

Only the bgremove package goes in (pyproject.toml's package list): the build tools beside it in
py/tools never reach a visitor.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .assets import CACHE, ROOT, BuildError, lock, sha256_bytes, write_if_changed

PACKAGE = ROOT / "py"
# Every file's time in the wheel: the same sources give the same bytes.
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest a zip file can say


def build(folder: Path, cached: bool = True) -> dict:
    """The wheel in `folder` (older versions removed): {file, sha256}. With `cached`, a wheel built before
    from the same sources and build tools (kept under the cache) is reused instead of built again."""
    kept = CACHE / "wheels" / _sources_digest()
    built = sorted(kept.glob("*.whl")) if cached else []
    if built:
        name, data = built[0].name, built[0].read_bytes()
    else:
        name, data = _pip_wheel()
        if cached:
            write_if_changed(kept / name, data)
    for stale in folder.glob("*.whl") if folder.exists() else ():
        if stale.name != name:
            stale.unlink()
    write_if_changed(folder / name, data)
    return {"file": name, "sha256": sha256_bytes(data)}


def _is_source(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts


def _sources_digest() -> str:
    """What the wheel is made of: the package's files, pyproject.toml and the pinned Python packages."""
    digest = hashlib.sha256(json.dumps(lock()["python"]["requirements"]).encode())
    for path in [PACKAGE / "pyproject.toml", *sorted(filter(_is_source, (PACKAGE / "bgremove").rglob("*")))]:
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def _pip_wheel() -> tuple[str, bytes]:
    with tempfile.TemporaryDirectory() as work:
        # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
        source = Path(work) / "source"
        shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "tools", "*.egg-info", "build"))
        out = Path(work) / "out"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q", "--no-deps",
             "--no-build-isolation", "--wheel-dir", str(out), str(source)],
            capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
        built = sorted(out.glob("*.whl"))
        if result.returncode != 0 or len(built) != 1:
            raise BuildError(f"could not build the wheel of py/:\n{result.stdout}{result.stderr}".strip())
        return built[0].name, built[0].read_bytes()
