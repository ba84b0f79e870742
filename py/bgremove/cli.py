"""Command line for the native path.

    bgremove photo.jpg cutout.png              one image
    bgremove photos/ cutouts/                  a folder, recursively, keeping its layout
    bgremove a.jpg "shoots/**/*.jpg" cutouts/  files and glob patterns
    bgremove --cluster tcp://host:8786 in/ out/  on a Dask cluster
    bgremove serve --port 8100                 over HTTP (bgremove serve --help)

A run can be stopped and started again: results that are already there and whole are kept.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import errors
from .batch import local, report
from .batch.outputs import is_complete
from .batch.report import EXISTS, FAILED, Row
from .batch.sources import Job, Plan, plan
from .batch.work import Settings, row_for
from .errors import BgRemoveError
from .formats import OUTPUT_FORMATS, output_format_of
from .models import DEFAULT_MODEL, MODELS
from .options import DEFAULT_PRESET, PRESETS, Options
from .postprocess import OUTPUTS

REPORT_NAME = "bgremove-report.json"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bgremove", description="Remove the background of images: one, a list, "
                                "glob patterns or whole folders.", epilog=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="images, folders or glob patterns, then where the results go (a folder; a file name for one image)")
    p.add_argument("-o", "--out", type=Path, help="where the results go (instead of the last PATH)")
    p.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help="fast: the reference pipeline; balanced: refined edges and colours; best")
    p.add_argument("--output", default="foreground", choices=OUTPUTS, help="what to keep")
    p.add_argument("--format", choices=sorted(OUTPUT_FORMATS), help="default: from the output file name, else png")
    p.add_argument("--quality", type=float, default=0.9, help="0..1, for webp and jpeg")
    p.add_argument("--background", metavar="#RRGGBB|blur|IMAGE",
                   help="put the cut-out on a colour, on the photo blurred, or on an image file scaled to cover "
                        "(jpeg: white unless set)")
    p.add_argument("--threshold", type=float, default=0.5, help="0..1: where the edge falls; lower keeps more")
    p.add_argument("--softness", type=float, default=1.0, help="0..1: 1 the edge as the model made it, 0 a hard cut")
    p.add_argument("--models-dir", type=Path, help="folder holding the .onnx files")
    p.add_argument("--workers", type=int, default=local.cores(),
                   help="processes cutting out in parallel, each with its own model session (default: the cores, %(default)s)")
    p.add_argument("--threads", type=int, default=0,
                   help="onnxruntime threads per worker (default: the cores shared out among the workers)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (pip install ./py[cluster]); "
                        "every worker must reach the input and output folders")
    p.add_argument("--report", type=Path, help=f"per-file report, .json or .csv (default: OUT/{REPORT_NAME} for a batch)")
    p.add_argument("--overwrite", action="store_true", help="cut out again images whose result is already there")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from .server import main as serve

        return serve(argv[1:])
    command = parser()
    args = command.parse_args(argv)
    sources, out = (args.paths, args.out) if args.out else (args.paths[:-1], Path(args.paths[-1]))
    if not sources:
        command.error("say where the results go: bgremove IN OUT (or -o OUT)")
    if out.exists() and not out.is_dir() and any(out.resolve() == Path(s).resolve() for s in sources):
        command.error(f"{out} is an input: say where the results go")
    single = len(sources) == 1 and Path(sources[0]).is_file() and not out.is_dir() and output_format_of(out.suffix)
    fmt = args.format or (output_format_of(out.suffix) if single else None) or "png"
    backdrop = None
    if args.background and Path(args.background).is_file():
        backdrop, args.background = Path(args.background).read_bytes(), "image"
    options = {"model": args.model, "preset": args.preset, "output": args.output, "format": fmt,
               "quality": args.quality, "background": args.background, "threshold": args.threshold,
               "softness": args.softness}
    if args.cluster:
        try:
            import distributed  # noqa: F401
        except ImportError:
            command.error("--cluster needs Dask: pip install './py[cluster]'")
    if not single and out.exists() and not out.is_dir():
        command.error(f"{out} is a file: the results of a batch go into a folder")
    try:
        Options.parse(options)
        work = Plan([Job(Path(sources[0]).resolve(), out.resolve())], [], 0) if single else \
            plan(sources, out, OUTPUT_FORMATS[fmt].extension)
    except BgRemoveError as error:
        print(f"bgremove: [{error.code}] {error.message}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"bgremove: {error}", file=sys.stderr)
        return 2
    settings = Settings(options, str(args.models_dir) if args.models_dir else None, args.threads, backdrop)
    report_path = args.report or (None if single else out / REPORT_NAME)
    # One image to a file named for it is written as asked; a batch keeps what an earlier run did.
    return _run(work, settings, args, report_path, overwrite=args.overwrite or bool(single))


def _run(work: Plan, settings: Settings, args, report_path: Path | None, overwrite: bool) -> int:
    rows: list[Row] = []
    todo = []
    for job in work.jobs:
        if not overwrite and is_complete(job.target):
            rows.append(row_for(job, settings, EXISTS))
        else:
            todo.append(job)
    bar = _progress_bar(len(todo), args.quiet)
    started = time.perf_counter()

    def note(row: Row) -> None:
        rows.append(row)
        if row.status == FAILED:
            bar.write(f"{row.source}: error [{row.code}] {row.message}", file=sys.stderr)

    def on_row(row: Row) -> None:
        note(row)
        bar.update()

    for job, earlier in work.clashes:
        note(row_for(job, settings, FAILED, errors.NAME_CLASH, f"{earlier.source} already writes {job.target}"))
    interrupted = unreachable = False
    try:
        if args.cluster:
            from .batch import cluster

            cluster.run(todo, settings, args.cluster, on_row)
        else:
            local.run(todo, settings, max(1, min(args.workers, len(todo))), on_row)
    except KeyboardInterrupt:
        interrupted = True
    except ConnectionError as error:
        unreachable = True
        bar.write(f"bgremove: {error}", file=sys.stderr)
    finally:
        bar.close()
    totals = report.summary(rows, time.perf_counter() - started, work.ignored)
    if report_path:
        report.write(report_path, rows, totals)
    print(_summary_line(totals, report_path, interrupted), file=sys.stderr)
    if interrupted:
        return 130
    return 2 if unreachable else 1 if totals[FAILED] else 0


def _progress_bar(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="image", disable=quiet, file=sys.stderr, dynamic_ncols=True)


def _summary_line(totals: dict, report_path: Path | None, interrupted: bool) -> str:
    parts = [f"{totals['done']} cut out"]
    if totals["images_per_second"]:
        parts[0] += f" ({totals['images_per_second']:.2f} images/s)"
    if totals[EXISTS]:
        parts.append(f"{totals[EXISTS]} kept from an earlier run")
    if totals[FAILED]:
        parts.append(f"{totals[FAILED]} failed")
    if totals["ignored"]:
        parts.append(f"{totals['ignored']} other file{'s' if totals['ignored'] > 1 else ''} left alone")
    line = "bgremove: " + ", ".join(parts)
    if report_path:
        line += f"; report: {report_path}"
    if interrupted:
        line += "; interrupted: run the same command again to go on"
    return line
