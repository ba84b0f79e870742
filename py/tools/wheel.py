"""Our own wheel, for micropip in the browser: built by pip from py/pyproject.toml, reproducibly.

Only the bgremove package goes in (pyproject.toml's package list): the build tools beside it in
py/tools never reach a visitor.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .assets import ROOT, BuildError, sha256_bytes, write_if_changed

PACKAGE = ROOT / "py"
# Every file's time in the wheel: the same sources give the same bytes.
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest a zip file can say


def build(folder: Path) -> dict:
    """The wheel in `folder` (older versions removed): {file, sha256}."""
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
        name, data = built[0].name, built[0].read_bytes()
    for stale in folder.glob("*.whl") if folder.exists() else ():
        if stale.name != name:
            stale.unlink()
    write_if_changed(folder / name, data)
    return {"file": name, "sha256": sha256_bytes(data)}
