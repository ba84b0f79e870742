"""build.py's commands, run in the project's .venv (build.py makes it, then hands over to this)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from . import assemble, fixtures
from .assets import ROOT

COMMANDS = {
    "build": "fetch, verify and assemble static/vendor (--out DIR: also write the deployable site there)",
    "serve": "build if needed, then serve the app on 127.0.0.1 (--port N, 0 picks a free port)",
    "test": "build if needed, then run every test (extra arguments go to pytest)",
    "eval": "score mask quality on ../shared/evalset, or cut out --images DIR into --out DIR (eval --help)",
    "bench": "time ours against @imgly/background-removal in headless Chromium, write docs/bench.md (bench --help)",
    "bench-presets": "time fast, balanced and best on 12-megapixel photos, write docs/bench-presets.md",
    "bench-devices": "time inference on wasm against webgpu for every model, write docs/bench-devices.md",
    "bench-endurance": "100 images through one remover, memory every 10 must plateau, write docs/endurance.md",
    "bench-batch": "the command line on a folder with 1..N workers per model, and one process's memory over "
                   "200 images, write docs/batch.md",
    "screenshots": "the page's main states in Chromium, written to docs/page-*.png for the README",
}
BENCHES = {"bench": "bench.py", "bench-presets": "presets.py", "bench-devices": "devices.py",
           "bench-endurance": "endurance.py", "bench-batch": "batch.py"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build, serve and test the background remover.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        # The tools behind eval and the benchmarks have their own --help.
        commands.add_parser(name, help=help_text, add_help=name in ("build", "serve", "test"))
    commands.choices["build"].add_argument("--out", type=Path, help="also write the deployable site into this folder")
    commands.choices["serve"].add_argument("--port", type=int, default=8000, help="0 picks a free port (default 8000)")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command in ("build", "serve"):
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    assemble.build()
    if args.command == "eval":  # the models it runs are the build's
        return run([sys.executable, "-m", "tools.evaluation", *rest])
    if args.command == "build":
        if args.out:
            assemble.export_site(args.out.resolve())
        return 0
    if args.command == "serve":
        from .serve import serve

        serve(args.port)
        return 0
    if args.command == "test":
        fixtures.test_images()
        fixtures.vite_app()
        return run([sys.executable, "-m", "pytest", "-c", str(ROOT / "tests" / "pytest.ini"), "--rootdir", str(ROOT),
                    *rest])
    if args.command == "screenshots":
        return run([sys.executable, str(ROOT / "tests" / "screenshots.py"), "--photos", str(fixtures.test_images()), *rest])
    extra = ["--peer", str(fixtures.bench_peer())] if args.command == "bench" else []
    return run([sys.executable, str(ROOT / "tests" / "bench" / BENCHES[args.command]), *extra,
                "--photos", str(fixtures.test_images()), *rest])


def run(command: list[str]) -> int:
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
