"""`python3 build.py bench-batch`: the command line on a folder, with 1 to N worker processes for each
model, and the memory of one process over a long run. Writes docs/batch.md.

Throughput: the benchmark photos (tests/bench/bench.py: 0.1 to 12 megapixels) twice over, as a
folder, through `python -m bgremove IN OUT` with --workers 1..cores and with --cluster on a Dask
LocalCluster, every model, the default preset;
the configurations alternate round after round and each figure is the best round's (this machine
is shared and noisy). Wall time includes starting Python, the workers and their model sessions.

Memory: --images photos (default 200, the same photos in turn) through one process's worker code
(py/bgremove/batch/work.py, as --workers 1 runs it), its resident set read after each cycle of
photos. The first WARM_UP cycles let the allocator reach its working size; the exit status is 1
when the resident set grows by more than BOUND_MB from there to the end, or when the process made
more than one model session.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from bench import log, machine, prepare_photos  # noqa: E402
from bgremove.batch import local, work  # noqa: E402
from bgremove.batch.sources import Job  # noqa: E402
from bgremove.models import DEFAULT_MODEL, MODELS  # noqa: E402
from bgremove.options import DEFAULT_PRESET  # noqa: E402
from tools.assets import CACHE  # noqa: E402

WARM_UP = 3
BOUND_MB = 100


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def folder_of(photos: list[Path], folder: Path, copies: int) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for copy in range(copies):
        for photo in photos:
            shutil.copy(photo, folder / f"{copy}-{photo.name}")
    return folder


def configurations(cores: int) -> dict:
    """Name -> the arguments it adds; "cluster" starts a Dask LocalCluster of `cores` worker processes."""
    found = {f"{n} worker{'s' if n > 1 else ''}": ["--workers", str(n)] for n in sorted({1, 2, cores})}
    found[f"Dask, {cores} workers"] = ["--cluster"]
    return found


def one_run(source: Path, model: str, arguments: list[str], cores: int) -> float:
    """Seconds for the whole command; a cluster is started for it and counted in."""
    with tempfile.TemporaryDirectory() as out, contextlib.ExitStack() as stack:
        started = time.perf_counter()
        if arguments == ["--cluster"]:
            from distributed import LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.ERROR))
            arguments = ["--cluster", cluster.scheduler_address]
        run = subprocess.run([sys.executable, "-m", "bgremove", str(source), out, "--model", model, *arguments, "-q"],
                             capture_output=True, text=True, cwd=ROOT)
        if run.returncode != 0:
            raise SystemExit(f"bgremove failed: {run.stderr}")
        return time.perf_counter() - started


def throughput(photos: list[Path], models: list[str], rounds: int) -> dict:
    source = folder_of(photos, CACHE / "bench-batch" / "in", 2)
    count = sum(1 for _ in source.iterdir())
    configs = configurations(local.cores())
    best: dict = {}
    for round_ in range(rounds):
        for model in models:
            for name, arguments in configs.items():
                wall = one_run(source, model, arguments, local.cores())
                log(f"round {round_ + 1}: {model}, {name}: {count / wall:.2f} images/s ({wall:.1f} s)")
                best[(model, name)] = max(best.get((model, name), 0), count / wall)
    return {"images": count, "configs": list(configs), "best": best}


def memory(photos: list[Path], model: str, images: int) -> dict:
    settings = work.Settings({"model": model, "preset": DEFAULT_PRESET, "output": "foreground", "format": "png",
                              "quality": 0.9})
    samples, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        for i in range(images):
            photo = photos[i % len(photos)]
            row = work.cut_out(Job(photo, Path(out) / f"{i}.png"), settings)
            if row.status != "done":
                raise SystemExit(f"{photo}: {row.code} {row.message}")
            if (i + 1) % len(photos) == 0 or i + 1 == images:
                samples.append((i + 1, rss_mb()))
                log(f"{i + 1} images: RSS {samples[-1][1]:.0f} MB")
    sessions = work.current_remover().loaded_sessions
    return {"samples": samples, "seconds": time.perf_counter() - started, "sessions": sessions,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def write_report(path: Path, speed: dict, mem: dict, model: str, photos: list[Path], minutes: float) -> bool:
    configs = speed["configs"]
    lines = ["# The command line on a folder: throughput and memory", "",
             f"Written by `python3 build.py bench-batch` on {datetime.date.today().isoformat()} in {minutes:.0f} min. "
             f"Machine: {machine()}. Native onnxruntime (CPU), preset {DEFAULT_PRESET}.", "",
             "## Throughput", "",
             f"{speed['images']} photos (the benchmark's {len(photos)}, 0.1 to 12 megapixels, twice) through "
             "`python -m bgremove IN OUT --workers N`; images per second over the whole command, start-up included "
             "(the best of the rounds). With N workers each runs onnxruntime on cores/N threads. The Dask column "
             "is `--cluster` on a LocalCluster of one single-threaded worker process per core, started for each run "
             "and counted in.", "",
             "| model | " + " | ".join(configs) + " | " + " | ".join(f"{c} vs 1" for c in configs[1:]) + " |",
             "|---" * (2 * len(configs)) + "|"]
    for name in sorted({m for m, _ in speed["best"]}):
        rates = [speed["best"][(name, c)] for c in configs]
        lines.append(f"| {name} | " + " | ".join(f"{r:.2f}/s" for r in rates) + " | "
                     + " | ".join(f"{r / rates[0]:.2f}x" for r in rates[1:]) + " |")
    samples = mem["samples"]
    base = samples[WARM_UP - 1][1]
    growth = samples[-1][1] - base
    swing = max(mb for _, mb in samples[WARM_UP - 1:]) - min(mb for _, mb in samples[WARM_UP - 1:])
    flat = growth <= BOUND_MB and len(mem["sessions"]) == 1
    lines += ["", "## Memory of one process", "",
              f"{samples[-1][0]} photos (the benchmark's {len(photos)} in turn) through one process's worker code "
              f"with {model}, in {mem['seconds'] / 60:.1f} min; resident set after each cycle of {len(photos)}.", "",
              "| images | " + " | ".join(str(n) for n, _ in samples) + " |",
              "|---" * (len(samples) + 1) + "|",
              "| RSS MB | " + " | ".join(f"{mb:.0f}" for _, mb in samples) + " |", "",
              f"From image {samples[WARM_UP - 1][0]} (after {WARM_UP} cycles of warm-up) to the last: "
              f"{growth:+.0f} MB (bound {BOUND_MB} MB), swinging by {swing:.0f} MB; peak {mem['peak_mb']:.0f} MB "
              f"(the 12-megapixel photo's working copies). Model sessions made: {len(mem['sessions'])} "
              f"({', '.join(f'{m} on {d}' for m, d in mem['sessions'])}). "
              + ("Flat." if flat else "NOT FLAT."), ""]
    path.write_text("\n".join(lines))
    return flat


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench-batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder of source photos (build.py's)")
    parser.add_argument("--models", default=",".join(sorted(MODELS)))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--images", type=int, default=200, help="photos through one process for the memory figure")
    parser.add_argument("--memory-model", default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "batch.md")
    args = parser.parse_args(argv)
    started = time.time()
    photos = prepare_photos(args.photos, CACHE / "bench-photos")
    if args.images < (WARM_UP + 1) * len(photos):
        parser.error(f"--images: at least {(WARM_UP + 1) * len(photos)}, for {WARM_UP} cycles of warm-up and one more")
    speed = throughput(photos, args.models.split(","), args.rounds)
    mem = memory(photos, args.memory_model, args.images)
    flat = write_report(args.out, speed, mem, args.memory_model, photos, (time.time() - started) / 60)
    log(f"wrote {args.out}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
