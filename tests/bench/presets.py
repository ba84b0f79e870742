"""`python3 build.py bench-presets`: what each quality preset costs against fast, on 12-megapixel photos.

One headless Chromium (wasm, every core), one page of tests/bench/ours.html, the --model
loaded before timing. Each photo is cut out with every preset, --rounds times, in a rotating order
so that the machine's drift hits all alike. Inference time swings by a third between identical
runs here, so besides the ratio of median totals the report gives the ratio with fast's median
inference time, which isolates what the presets themselves add. Writes
docs/bench-presets.md.
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from tools.assemble import SITE  # noqa: E402
from tools.assets import CACHE  # noqa: E402
from bench import log, machine, open_page, prepare_photos, run_on  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from conftest import serving  # noqa: E402

PRESETS = ("fast", "balanced", "best")
# (file, what it is). The first comes from bench.py; the others are made here from the test images.
PHOTOS = (("astronaut-4000x3000.jpg", "a portrait filling the frame: the longest edge to refine"),
          ("astronaut-small-plain-4000x3000.jpg", "that portrait at 1000 px in a corner of a plain backdrop"),
          ("astronaut-small-busy-4000x3000.jpg", "the same in a corner of the coffee photo blown up: the mask "
                                                 "has edges all over the scene"))


def small_subject_photos(sources: Path, out: Path) -> None:
    """The astronaut, 1000 px square, in a corner of a 12-megapixel plain backdrop and of a busy scene."""
    portrait = Image.open(sources / "astronaut.png").convert("RGB").resize((1000, 1000), Image.LANCZOS)
    scenes = {PHOTOS[1][0]: lambda: Image.new("RGB", (4000, 3000), (200, 196, 188)),
              PHOTOS[2][0]: lambda: Image.open(sources / "coffee.png").convert("RGB").resize((4000, 3000),
                                                                                            Image.LANCZOS)}
    for name, scene in scenes.items():
        if not (out / name).exists():
            image = scene()
            image.paste(portrait, (2600, 1800))
            image.save(out / name, quality=92)


def measure(page, photo_url: str, model: str, rounds: int) -> dict[str, list[dict]]:
    runs = {preset: [] for preset in PRESETS}
    run_on(page, photo_url, model, "fast")  # the model is loaded and the page warm before any timing
    for r in range(rounds):
        for preset in PRESETS[r % 3:] + PRESETS[:r % 3]:
            result = run_on(page, photo_url, model, preset)
            inference = result["stages"]["inference"] / 1000
            runs[preset].append({"total": result["ms"] / 1000, "inference": inference,
                                 "outside": result["ms"] / 1000 - inference})
            log(f"  {preset}: {result['ms'] / 1000:.2f} s, {inference:.2f} s of it inference")
    return runs


def section(photo: str, about: str, runs: dict[str, list[dict]]) -> list[str]:
    def median(preset, key):
        return statistics.median(run[key] for run in runs[preset])

    shared = statistics.median(run["inference"] for run in runs["fast"])
    lines = [f"### {photo}", "", about[0].upper() + about[1:] + ".", "", "| preset | total s | inference s | outside inference s | total / fast | "
             "with fast's inference time / fast |", "|---|---|---|---|---|---|"]
    for preset in PRESETS:
        ratio = median(preset, "total") / median("fast", "total")
        shared_ratio = (shared + median(preset, "outside")) / (shared + median("fast", "outside"))
        lines.append(f"| {preset} | {median(preset, 'total'):.2f} | {median(preset, 'inference'):.2f} | "
                     f"{median(preset, 'outside'):.2f} | {ratio:.2f} | {shared_ratio:.2f} |")
    return lines + [""]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench-presets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder of source photos (build.py's)")
    parser.add_argument("--model", default="isnet-medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench-presets.md")
    args = parser.parse_args(argv)
    started = time.time()
    folder = prepare_photos(args.photos, CACHE / "bench-photos")[0].parent
    small_subject_photos(args.photos, folder)
    lines = []
    with serving(served=SITE + ("tests/bench/ours.html",)) as (_, app_url), \
            serving(served=tuple(name for name, _ in PHOTOS), root=folder) as (_, photos_url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = open_page(browser.new_context(), f"{app_url}tests/bench/ours.html?model={args.model}")
        for photo, about in PHOTOS:
            log(f"{photo}, {args.model}")
            lines += section(photo, about, measure(page, photos_url + photo, args.model, args.rounds))
        version = browser.version
        browser.close()
    header = ["# What each preset costs against fast, 12 megapixels", "",
              f"Written by `python3 build.py bench-presets` on {datetime.date.today().isoformat()} in "
              f"{(time.time() - started) / 60:.0f} min. Machine: {machine()}. Browser: headless {version}, wasm. "
              f"Model {args.model}; medians of {args.rounds} runs per preset and photo. Bounds: balanced at most "
              "1.3x fast, best at most 2.5x.", ""]
    args.out.write_text("\n".join(header + lines))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
