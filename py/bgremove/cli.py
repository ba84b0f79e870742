"""Command line for the native path: `python3 -m bgremove photo.jpg -o photo.png --model isnet-small`."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .errors import BgRemoveError
from .formats import OUTPUT_FORMATS, output_format_of
from .models import DEFAULT_MODEL, MODELS
from .options import DEFAULT_PRESET, PRESETS, Options
from .pipeline import Remover
from .postprocess import OUTPUTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bgremove", description="Remove the background of images.")
    parser.add_argument("images", nargs="+", type=Path, help="input image files")
    parser.add_argument("-o", "--out", type=Path,
                        help="output file (one input) or folder (several); default: <name>.out.<ext> beside each input")
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                        help="fast: the reference pipeline; balanced: refined edges and colours; best")
    parser.add_argument("--output", default="foreground", choices=OUTPUTS, help="what to keep")
    parser.add_argument("--format", choices=sorted(OUTPUT_FORMATS), help="default: from the output name, else png")
    parser.add_argument("--quality", type=float, default=0.9, help="0..1, for webp and jpeg")
    parser.add_argument("--models-dir", type=Path, help="folder holding the .onnx files")
    args = parser.parse_args(argv)
    return asyncio.run(_run(args))


async def _run(args) -> int:
    from .hosts.native import NativeHost

    remover = Remover(NativeHost(args.models_dir))
    failures = 0
    for source in args.images:
        target = _target(args, source)
        fmt = args.format or output_format_of(target.suffix) or "png"
        try:
            options = Options.parse({"model": args.model, "preset": args.preset, "output": args.output,
                                     "format": fmt, "quality": args.quality})
            result = await remover.remove(source.read_bytes(), options)
        except (BgRemoveError, OSError) as error:
            failures += 1
            code = getattr(error, "code", "io_error")
            print(f"{source}: error [{code}] {error}", file=sys.stderr)
            continue
        if target.suffix == "":
            target = target.with_suffix("." + OUTPUT_FORMATS[fmt].extension)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.image)
        inference = result.timings.get("inference", 0.0)
        print(f"{source} -> {target} ({result.width}x{result.height}, {result.model}, inference {inference:.2f}s)")
    return 1 if failures else 0


def _target(args, source: Path) -> Path:
    if args.out is None:
        return source.with_name(f"{source.stem}.out")
    if len(args.images) > 1 or args.out.is_dir():
        return args.out / source.stem
    return args.out

