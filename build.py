#!/usr/bin/env python3
"""Build, serve and test the in-browser background remover.

    python3 build.py serve [--port N]   build if needed, then serve the app on 127.0.0.1
    python3 build.py test [pytest args] build if needed, then run every test
    python3 build.py build [--out DIR]  only build (--out: also write the deployable site to DIR)
    python3 build.py eval [args]        score mask quality (python3 build.py eval --help)
    python3 build.py bench [args]       time ours against @imgly/background-removal (bench --help)
    python3 build.py bench-presets      what balanced and best cost against fast on 12 MP photos
    python3 build.py bench-devices      inference on wasm against webgpu, every model
    python3 build.py bench-endurance    100 images through one remover: memory must plateau
    python3 build.py bench-batch        the command line on a folder: 1..N workers, memory over 200 images
    python3 build.py screenshots        the page's main states, for the README (docs/page-*.png)

This file only makes the project's own virtual environment (.venv, every package pinned in
assets.lock.json) and hands the command to the build tools in py/tools/, which run inside it:
assets.py (the lock, downloads, checksums), assemble.py (static/vendor/ and its manifest),
graphs.py (model rewrites), wheel.py, serve.py, headers.py, fixtures.py, evaluation.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create .venv and install the pinned requirements when they changed; py/ is on its path."""
    python = venv_python()
    if not python.exists():
        print("[build] creating .venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    requirements = json.loads((ROOT / "assets.lock.json").read_text())["python"]["requirements"]
    stamp = VENV / "requirements.lock"
    wanted = "\n".join(requirements) + "\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        print("[build] installing pinned Python requirements into .venv", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements],
                       check=True)
        stamp.write_text(wanted)
    # The packages in py/ (the pipeline and the build tools) are used from the source, like an editable install.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    pth = Path(site) / "bgremove-source.pth"
    if not pth.exists() or pth.read_text().strip() != str(ROOT / "py"):
        pth.write_text(f"{ROOT / 'py'}\n")
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    python = str(ensure_venv())
    os.chdir(ROOT)
    os.execv(python, [python, "-m", "tools", *argv])  # this process becomes the command: Ctrl+C and all


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
