"""Score the pipeline's variants on a set with ground-truth alpha, or cut out a folder of images.

    python3 build.py eval        # every variant on ../shared/evalset and the stamps set, tables to docs/eval.md
    python3 build.py eval --images DIR --out DIR [--preset P] [--model M]

Runs under CPython with the native host. The model's raw output depends only
on the model and its input tensor, so it is cached on disk and variants that
differ after inference cost no second inference.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bgremove.hosts.native import NativeHost
from bgremove.models import DEFAULT_MODEL, MODELS
from bgremove.options import DEFAULT_PRESET, PRESETS, Options
from bgremove.pipeline import Remover

from . import metrics, stamps
from .assets import CACHE as BUILD_CACHE
from .assets import ROOT

DEFAULT_SET = ROOT.parent / "shared" / "evalset"
DEFAULT_REPORT = ROOT / "docs" / "eval.md"
CACHE = BUILD_CACHE / "eval-outputs"

# The model @imgly/background-removal runs unless told otherwise (its "medium"): a report on another model
# starts with the reference pipeline on this one, what a visitor to a site using imgly gets, as its baseline.
PEER_MODEL = "isnet-medium"
# The variants compared, each a set of options; "squash + bilinear" is the reference pipeline.
REFERENCE = "squash + bilinear (reference, fast)"
VARIANTS = {
    REFERENCE: {"preset": "fast"},
    "letterbox + bilinear": {"preset": "fast", "resize": "letterbox"},
    "fit + bilinear": {"preset": "fast", "resize": "fit"},
    "squash + guided": {"preset": "fast", "refine": "guided"},
    "fit + guided": {"preset": "fast", "resize": "fit", "refine": "guided"},
    "fit + guided + matte": {"preset": "fast", "resize": "fit", "refine": "matting"},
    "fit + guided + crop pass": {"preset": "fast", "resize": "fit", "refine": "guided", "crop_pass": "on"},
    **{f"preset {name}": {"preset": name} for name in PRESETS if name != "fast"},
}
# Tried, measured, in no preset: the model's output averaged with its output for the mirrored input
# (test-time augmentation), at twice the inference.
FLIP_AVERAGED = {f"preset {name}, flip-averaged": {"preset": name} for name in ("balanced", "best")}
COLUMNS = ("mae", "mse", "sad", "grad", "edge_mae", "iou", "colour")

# The kinds of subject the report is split by, so that a regression on one cannot hide in the mean.
# An item may say its kind ("kind" in the manifest); else its subject gives it.
KINDS = ("hair/fur", "see-through", "hard-edged opaque", "thin structures")
KIND_OF_SUBJECT = {"animal": "hair/fur", "person": "hair/fur", "vehicle": "hard-edged opaque",
                   "product": "hard-edged opaque"}


def variants(model: str) -> dict[str, dict]:
    """VARIANTS on a model; on one imgly lacks, led by the reference pipeline on imgly's own model, the baseline."""
    if model == PEER_MODEL:
        return VARIANTS
    return {f"reference on {PEER_MODEL} (imgly's pipeline and model)": {"preset": "fast", "model": PEER_MODEL},
            **VARIANTS}


class CachedInferenceHost(NativeHost):
    """The native host with inference results kept on disk, keyed by model and input tensor."""

    last_inference = 0.0  # seconds the latest inference took when it actually ran

    async def infer(self, session, spec, tensor):
        key = hashlib.sha256(f"{spec.id}/{spec.file}".encode() + tensor.tobytes()).hexdigest()[:32]
        path = CACHE / f"{key}.npz"
        if path.exists():
            with np.load(path) as stored:
                self.last_inference = float(stored["seconds"])
                return stored["output"]
        start = time.perf_counter()
        output = await super().infer(session, spec, tensor)
        self.last_inference = time.perf_counter() - start
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, output=output, seconds=self.last_inference)
        return output


class FlipAveragedHost(CachedInferenceHost):
    """The model run on the input and on its mirror image, the two outputs averaged (mirrored back)."""

    async def infer(self, session, spec, tensor):
        raw = np.asarray(await super().infer(session, spec, tensor), np.float32)
        seconds = self.last_inference
        mirrored = await super().infer(session, spec, np.ascontiguousarray(tensor[..., ::-1]))
        self.last_inference += seconds
        return (raw + np.asarray(mirrored, np.float32).reshape(raw.shape)[..., ::-1]) / 2


def kind_of(item: dict) -> str:
    kind = item.get("kind") or KIND_OF_SUBJECT.get(item.get("subject"))
    if kind not in KINDS:
        raise ValueError(f"{item['id']}: no kind of subject ({', '.join(KINDS)}); give it one in the manifest")
    return kind


def by_kind(rows: dict[str, list[dict]], name: str, baseline: str) -> str:
    """One variant against the reference, kind by kind; the kinds the set lacks are named."""
    lines = ["| kind | n | edge_mae | mae | iou | edge_mae change |", "|---|---|---|---|---|---|"]
    for kind in KINDS:
        ref = [r for r in rows[baseline] if r["kind"] == kind]
        new = [r for r in rows[name] if r["kind"] == kind]
        if not ref:
            lines.append(f"| {kind} | 0 | | | | not in this set |")
            continue
        cells = [f"{_mean(ref, k):.4f} → {_mean(new, k):.4f}" for k in ("edge_mae", "mae", "iou")]
        change = 100 * (_mean(new, "edge_mae") - _mean(ref, "edge_mae")) / _mean(ref, "edge_mae")
        lines.append(f"| {kind} | {len(ref)} | " + " | ".join(cells) + f" | {change:+.1f}% |")
    return "\n".join(lines)


def load_set(folder: Path) -> list[dict]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return manifest["items"]


def read_rgba(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def read_grey(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), np.float32) / 255


async def score(folder: Path, model: str, variants: dict[str, dict],
                flip_averaged: dict[str, dict] | None = None) -> dict[str, list[dict]]:
    flip_averaged = flip_averaged or {}
    plain, flipped = CachedInferenceHost(), FlipAveragedHost()
    removers = {plain: Remover(plain), flipped: Remover(flipped)}
    hosts = {**{name: plain for name in variants}, **{name: flipped for name in flip_averaged}}
    items = load_set(folder)
    rows: dict[str, list[dict]] = {name: [] for name in hosts}
    for item in items:
        data = (folder / item["image"]).read_bytes()
        truth = read_grey(folder / item["gt"])
        true_colour = read_rgba((folder / item["fg"]).read_bytes())[..., :3]
        for name, options in {**variants, **flip_averaged}.items():
            host = hosts[name]
            result = await removers[host].remove(data, {"model": model, **options})
            out = read_rgba(result.image)
            alpha = out[..., 3].astype(np.float32) / 255
            row = metrics.all_metrics(alpha, truth)
            row["colour"] = metrics.colour_error(out[..., :3], true_colour, truth)
            row["seconds"] = sum(v for k, v in result.timings.items() if k not in ("model", "inference"))
            row["inference"] = host.last_inference
            row.update(id=item["id"], bucket=item["bucket"], source=item["source"].split("+")[0], kind=kind_of(item))
            rows[name].append(row)
        print(f"  {item['id']}", file=sys.stderr, flush=True)
    return rows


def _mean(rows: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in rows) if rows else float("nan")


def table(rows: dict[str, list[dict]], group: str | None = None) -> str:
    """A markdown table: one line per variant (and per group value, if grouping)."""
    header = ["variant"] + ([group] if group else []) + [*COLUMNS, "n", "post-inference s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, results in rows.items():
        groups = sorted({r[group] for r in results}) if group else [None]
        for value in groups:
            subset = [r for r in results if group is None or r[group] == value]
            cells = [name] + ([value] if group else [])
            cells += [f"{_mean(subset, c):.4f}" if c not in ("sad", "grad") else f"{_mean(subset, c):.2f}"
                      for c in COLUMNS]
            cells += [str(len(subset)), f"{_mean(subset, 'seconds'):.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def relative(rows: dict[str, list[dict]], name: str, baseline: str) -> str:
    parts = []
    for column in ("mae", "sad", "edge_mae", "grad", "colour"):
        base, value = _mean(rows[baseline], column), _mean(rows[name], column)
        parts.append(f"{column} {100 * (value - base) / base:+.1f}%")
    return ", ".join(parts)


def per_image(rows: dict[str, list[dict]], baseline: str, name: str) -> str:
    """Reference against one variant, image by image, largest MAE change first."""
    lines = ["| image | bucket | mae | edge_mae | iou |", "|---|---|---|---|---|"]
    pairs = sorted(zip(rows[baseline], rows[name]), key=lambda pair: pair[0]["mae"] - pair[1]["mae"])
    for ref, new in pairs:
        cells = [f"{ref[k]:.3f} → {new[k]:.3f}" for k in ("mae", "edge_mae", "iou")]
        lines.append(f"| {ref['id']} | {ref['bucket']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: dict[Path, dict[str, list[dict]]], model: str) -> str:
    """The whole report: the metrics, then each set's tables."""
    first = next(iter(results.values()))
    baseline = next(iter(first))
    inference = statistics.fmean(r["inference"] for rows in results.values() for r in rows[REFERENCE])
    sets = " and ".join(f"{len(rows[baseline])} images from `{folder.name}/`" for folder, rows in results.items())
    text = [
        "# Mask quality on the evaluation sets\n",
        f"Written by `python3 build.py eval` on {datetime.date.today()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), model `{model}`, {sets}. Native onnxruntime inference averaged "
        f"{inference:.2f} s per image; the last column is the time of everything else.\n",
        "Metrics (alpha in 0..1): MAE, MSE, SAD (thousands), gradient error (thousands, sigma 1.4), "
        f"edge_mae = MAE within {metrics.EDGE_BAND_RADIUS} px of the true edge, IoU at 0.5, colour = mean "
        "|RGB - true foreground RGB| (0..1) over the truly semi-transparent pixels, weighted by their alpha. "
        "Lower is better except IoU.\n",
        f"Default preset: `{DEFAULT_PRESET}` = {PRESETS[DEFAULT_PRESET]}.\n",
        "Why `fit` and not plain `letterbox`: both keep the photo's shape and fill the rest of the model's "
        "square with the photo mirrored, but letterbox gives a 4:1 panorama a strip a quarter of the input high, "
        "too few pixels for its subject (see the wide rows), while fit stretches such a photo just enough to "
        "cover three quarters of the square. Padding with a flat grey instead of the mirrored photo made both "
        "worse than squash on wide photos (the model cut out the bars or read them as backdrop): see this "
        "file's history.\n",
        "In `evalset/` the `rembg` foregrounds were cut out with u2net and the `gfm`/`p3m` ones with those "
        "models: a model of the same family has an edge there. `stamps/` is made by py/tools/stamps.py from "
        "Debian packages (hand-cut photographs of objects over wallpapers); its docstring states its bias.\n",
    ]
    for folder, rows in results.items():
        text += set_report(rows, folder)
    return "\n".join(text)


def set_report(rows: dict[str, list[dict]], folder: Path) -> list[str]:
    baseline = next(iter(rows))
    default = f"preset {DEFAULT_PRESET}"
    what = json.loads((folder / "manifest.json").read_text()).get("what", "")
    text = [
        f"## `{folder.name}/`: {len(rows[baseline])} images\n",
        f"{what[:1].upper()}{what[1:].rstrip('.')}.\n" if what else "",
        "### Overall\n", table(rows), "",
        f"`{default}` against the reference: {relative(rows, default, baseline)}.\n" if default in rows else "",
        f"### By kind of subject: reference → `{default}`\n",
        by_kind(rows, default, baseline) if default in rows else "", "",
        "### By kind of subject, every variant\n", table(rows, "kind"), "",
        "### By aspect-ratio bucket\n", table(rows, "bucket"), "",
        "### By source of the foreground\n", table(rows, "source"), "",
        f"### Per image: reference → `{default}`\n",
        "Worst change first. Images where every variant fails (IoU near 0) weigh heavily on the means.\n",
        per_image(rows, baseline, default) if default in rows else "", "",
    ]
    return text


async def figure(photo: Path, out: Path, box: tuple[int, int, int, int], model: str, scale: int = 3) -> None:
    """A before/after picture: the reference pipeline (fast), then each other preset, cropped to
    box = (x0, y0, x1, y1), composited on a coloured background where halos and lost hair show."""
    remover = Remover(NativeHost())
    data = photo.read_bytes()
    panels = []
    for preset in PRESETS:
        result = await remover.remove(data, {"preset": preset, "model": model})
        cut = Image.open(io.BytesIO(result.image)).convert("RGBA").crop(box)
        backdrop = Image.new("RGBA", cut.size, (40, 110, 200, 255))
        backdrop.alpha_composite(cut)
        panels.append(backdrop.resize((cut.width * scale, cut.height * scale), Image.Resampling.NEAREST))
    gap = 8
    sheet = Image.new("RGB", ((panels[0].width + gap) * len(panels) - gap, panels[0].height), (255, 255, 255))
    for i, panel in enumerate(panels):
        sheet.paste(panel.convert("RGB"), (i * (panels[0].width + gap), 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


async def cut_out_folder(images: Path, out: Path, preset: str, model: str) -> int:
    remover = Remover(NativeHost())
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in sorted(p for p in images.iterdir() if p.is_file()):
        try:
            result = await remover.remove(path.read_bytes(), {"preset": preset, "model": model})
        except Exception as error:  # one bad file must not stop the folder
            failures += 1
            print(f"{path.name}: error [{getattr(error, 'code', 'error')}] {error}", file=sys.stderr)
            continue
        (out / f"{path.stem}.png").write_bytes(result.image)
        print(f"{path.name} -> {out / (path.stem + '.png')}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, action="append",
                        help="folder with manifest.json, images/, gt/, fg/ (repeatable; default: ../shared/evalset "
                             "if there, and the set py/tools/stamps.py makes)")
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="markdown results file to write")
    parser.add_argument("--images", type=Path, help="cut out every image of this folder instead of scoring")
    parser.add_argument("--out", type=Path, help="with --images: where the RGBA PNGs go")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--figure", type=Path, help="write a before/after crop of --photo to this PNG instead")
    parser.add_argument("--photo", type=Path, help="with --figure: the photo")
    parser.add_argument("--box", type=int, nargs=4, metavar=("X0", "Y0", "X1", "Y1"), help="with --figure: the crop")
    args = parser.parse_args(argv)
    if args.figure:
        if not (args.photo and args.box):
            parser.error("--figure needs --photo and --box")
        asyncio.run(figure(args.photo, args.figure, tuple(args.box), args.model))
        return 0
    if args.images:
        if not args.out:
            parser.error("--images needs --out")
        return asyncio.run(cut_out_folder(args.images, args.out, args.preset, args.model))
    Options.parse({"model": args.model})
    folders = args.set or [*([DEFAULT_SET] if DEFAULT_SET.exists() else []), stamps.build()]
    results = {folder: asyncio.run(score(folder, args.model, variants(args.model), FLIP_AVERAGED)) for folder in folders}
    text = report(results, args.model)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
