"""`python3 build.py bench-devices`: inference time per image on wasm and on webgpu, every model, one run.

One headless Chromium with WebGPU enabled, using whatever adapter it offers: on these machines
SwiftShader (a software renderer, so webgpu is far slower than wasm here, which is expected); on
a machine with a GPU, that GPU. For each model and device, a fresh page of tests/bench/ours.html
(createRemover({model, device})) cuts out the same photos one after the other; the table gives the
inference seconds our pipeline measured for each, and the device that actually ran it. A run that
takes longer than --cap minutes is stopped and reported as such. Writes docs/bench-devices.md.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from tools.assemble import SITE  # noqa: E402
from tools.assets import CACHE, lock  # noqa: E402
from bench import log, machine, open_page, prepare_photos  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS, WEBGPU_ARGS  # noqa: E402
from conftest import serving  # noqa: E402

DEVICES = ("wasm", "webgpu")
MODELS = ("u2netp", "isnet-small", "isnet-medium")
# Inference does not depend on the photo's size (every model has a fixed input), and on a software
# adapter one IS-Net image takes most of an hour: one photo by default (--photos-per-model for more).
PHOTOS = ("coffee-600x400.png", "rocket-427x640.jpg", "chelsea-451x300.png")


def measure(browser, base: str, photos_url: str, model: str, device: str, photos: list[str], cap_ms: int) -> list:
    """One model on one device in a fresh page: a run per photo, until one fails or passes the cap."""
    context = browser.new_context()
    runs = []
    try:
        page = open_page(context, f"{base}?model={model}&device={device}")
        for photo in photos:
            try:
                # page.evaluate has no timeout of its own: the cap races the run in the page.
                result = page.evaluate("""([url, options, cap]) => Promise.race([bench.run(url, options),
                    new Promise((_, reject) => setTimeout(() => reject(new Error(`over ${cap / 60000} min`)), cap))])""",
                                       [photos_url + photo, {"model": model, "preset": "fast"}, cap_ms])
            except PlaywrightError as error:
                runs.append({"photo": photo, "error": str(error).splitlines()[0]})
                log(f"  {model} on {device}, {photo}: {runs[-1]['error']}")
                break
            runs.append({"photo": photo, "inference": result["stages"]["inference"] / 1000, "device": result["device"],
                         "fallback": result["fallback"]})
            log(f"  {model} on {device}, {photo}: {runs[-1]['inference']:.2f} s inference (ran on {result['device']})")
    finally:
        context.close()
    return runs


def write_report(path: Path, results: dict, photos: list[str], adapter: str, browser_version: str,
                 started: float) -> None:
    lines = ["# Inference per image: wasm against webgpu", "",
             f"Written by `python3 build.py bench-devices` on {datetime.date.today().isoformat()} in "
             f"{(time.time() - started) / 60:.0f} min. Machine: {machine()}. Browser: headless {browser_version} "
             f"with `{' '.join(WEBGPU_ARGS)}`. WebGPU adapter: {adapter}. onnxruntime-web "
             f"{lock()['downloads']['onnxruntime-web']['spec'].split('@')[1]} (its JSEP build when webgpu is "
             "asked for), 'fast' preset, each model and device in a fresh page; seconds of inference as our "
             "pipeline timed it (the first image of a page includes WebGPU's shader compilation).", "",
             "| model | photo | wasm s | webgpu s | webgpu / wasm | ran on |", "|---|---|---|---|---|---|"]
    for model, by_device in results.items():
        for index, photo in enumerate(photos):
            cells = {device: by_device.get(device, [])[index] if index < len(by_device.get(device, [])) else None
                     for device in DEVICES}
            shown = {device: ("not run" if run is None else run.get("error") and "stopped: " + run["error"][:60]
                              or f"{run['inference']:.2f}") for device, run in cells.items()}
            done = all(run and "inference" in run for run in cells.values())
            ratio = f"{cells['webgpu']['inference'] / cells['wasm']['inference']:.1f}" if done else "–"
            ran = " / ".join(run["device"] for run in cells.values() if run and "device" in run)
            lines.append(f"| {model} | {photo} | {shown['wasm']} | {shown['webgpu']} | {ratio} | {ran} |")
    fallbacks = {run["fallback"]["reason"] for by_device in results.values() for runs in by_device.values()
                 for run in runs if run.get("fallback")}
    if fallbacks:
        lines += ["", "Fallbacks reported: " + "; ".join(sorted(fallbacks))]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench-devices", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder of source photos (build.py's)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--photos-per-model", type=int, default=1, choices=range(1, len(PHOTOS) + 1))
    parser.add_argument("--cap", type=float, default=90, help="minutes one image may take (default 90)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench-devices.md")
    args = parser.parse_args(argv)
    started = time.time()
    photos = prepare_photos(args.photos, CACHE / "bench-photos")
    chosen = list(PHOTOS[:args.photos_per_model])
    with serving(served=SITE + ("tests/bench/ours.html",)) as (_, app_url), \
            serving(served=tuple(p.name for p in photos), root=photos[0].parent) as (_, photos_url), \
            sync_playwright() as playwright:
        base = f"{app_url}tests/bench/ours.html"
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + WEBGPU_ARGS)
        page = browser.new_page()
        page.goto(base)
        adapter = page.evaluate("""async () => {
            const adapter = await navigator.gpu?.requestAdapter();
            if (!adapter) return "none";
            const { vendor, architecture, description } = adapter.info ?? {};
            const f16 = adapter.features.has("shader-f16") ? "with" : "without";
            return `${[vendor, architecture, description].filter(Boolean).join(" ")} (${f16} shader-f16)`;
        }""")
        page.close()
        log(f"WebGPU adapter: {adapter}")
        results = {}
        for model in args.models.split(","):
            results[model] = {}
            for device in DEVICES:  # the report is rewritten after each, so a stopped run keeps what it measured
                results[model][device] = measure(browser, base, photos_url, model, device, chosen,
                                                 int(args.cap * 60_000))
                write_report(args.out, results, chosen, adapter, browser.version, started)
        browser.close()
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
