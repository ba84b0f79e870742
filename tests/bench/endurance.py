"""`python3 build.py bench-endurance`: does memory plateau over a long batch through one remover?

One headless Chromium, one cross-origin isolated page, one remover (createRemover with --model and
--preset) that cuts out --images photos one after the other: a cycle of ten, from 0.1 to 12
megapixels, JPEG and PNG, small and large alternating. After every ten it records three heaps:
- the browser's report, performance.measureUserAgentSpecificMemory(): the JS heaps of the page and
  its workers and the shared WebAssembly memories (onnxruntime's);
- Python's heap, a WebAssembly memory that is not shared, so the report above leaves it out; the
  engine returns its size with every result (meta.memory.python);
- the resident set (VmRSS) of the browser's renderer processes, read from /proc: the workers run
  in the page's renderer, so this sees every heap, as the operating system does.
The remover runs on one thread: a worker whose onnxruntime threads are parked answers the
measurement only after a minute (tests/test_memory.py). WebAssembly memories only grow, so the
first WARM_UP images (each large photo twice) let every heap reach its working size; the plateau
check then bounds each heap's growth from the measurement at image 30 to the last one, and the
exit status is 1 when one grows past its bound. Writes docs/endurance.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
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
from bench import log, machine, prepare_photos  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from conftest import blank_page, serving  # noqa: E402

EVERY = 10
WARM_UP = 20
FROM = WARM_UP + EVERY  # the first measurement after warm-up, where the plateau is measured from
# Allowed growth from image 30 to the last, per heap, in MB, and why (the spreads are those measured
# on the 2-core machine of docs/endurance.md; the report gives each run's own).
BOUNDS = {
    "browser": (5, "between measurements it moved by under 1 MB; one result's pixels of the smallest photo "
                   "(0.5 MB as RGBA) kept per image would add 38 MB over 70 images"),
    "python": (5, "Pyodide's memory grows in steps of at least a fifth of its size (emscripten's geometric "
                  "growth: 36 MB at 178 MB), so this allows not one step"),
    "rss": (50, "after warm-up it swung by up to 30 MB between measurements, with no trend (allocator and garbage "
                "collector timing); one 12-megapixel mask (12 MB) kept per cycle of ten would add 84 MB"),
}
HEAPS = {"browser": "browser's report", "python": "Python's heap", "rss": "renderers' RSS"}

# The page: a blank one of the app's origin, made by Playwright, with the photos fulfilled by
# Playwright as well (Chromium refuses such a page's fetches from another loopback port). Not
# tests/bench/ours.html, whose own remover would hold every thread.
SETUP = """async ([model, preset]) => {
    const { createRemover } = await import("./static/client/remover.js");
    const remover = createRemover({ model, preset, threads: 1 });
    await remover.preload();
    window.cutOut = async (url) => {
        const { meta } = await remover.remove(await (await fetch(url)).blob());
        return { python: meta.memory.python, device: meta.device };
    };
}"""
MEASURE = "async () => (await performance.measureUserAgentSpecificMemory()).bytes"


def cycle(photos: list[Path]) -> list[Path]:
    """bench.py's nine photos and a 12-megapixel PNG, smallest and largest alternating."""
    png = photos[-1].with_suffix(".png")
    if not png.exists():
        Image.open(photos[-1]).save(png)
    by_area = sorted(photos + [png], key=lambda p: Image.open(p).width * Image.open(p).height)
    half = len(by_area) // 2
    return [p for pair in zip(by_area[:half], reversed(by_area[half:])) for p in pair]


def renderers_rss() -> int | None:
    """Bytes resident in the renderer processes that this process started (through Playwright's
    driver and the browser: every Chromium of another run on this machine is left out)."""
    children, kinds, rss = {}, {}, {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
            # Chromium rewrites its command line as one string: split it on white space too.
            kinds[proc.name] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:  # it ended while being read
            continue
        children.setdefault(status["PPid"].strip(), []).append(proc.name)
        rss[proc.name] = int(status.get("VmRSS", "0 kB").split()[0]) * 1024
    mine, queue = [], [str(os.getpid())]
    while queue:
        queue += children.get(queue[0], [])
        mine.append(queue.pop(0))
    renderers = [pid for pid in mine if b"--type=renderer" in kinds.get(pid, [])]
    return sum(rss[pid] for pid in renderers) if renderers else None


def run(page, photos_url: str, order: list[Path], count: int) -> tuple[list[dict], list[int], str]:
    """The measurements every EVERY images, and Python's heap after each image (every result carries it)."""
    rows, heaps, started = [], [], time.time()
    for done in range(1, count + 1):
        result = page.evaluate("url => cutOut(url)", photos_url + order[(done - 1) % len(order)].name)
        heaps.append(result["python"])
        if done % EVERY == 0:
            rss = renderers_rss()
            rows.append({"done": done, "browser": page.evaluate(MEASURE) / 1e6, "python": result["python"] / 1e6,
                         "rss": rss / 1e6 if rss else None, "seconds": time.time() - started})
            log(f"  {done} images: " + ", ".join(f"{key} {value:.1f}" for key, value in rows[-1].items()
                                                 if key != "done" and value is not None))
    return rows, heaps, result["device"]


def verdict(rows: list[dict]) -> dict[str, dict]:
    """Per heap that was read: MB at image FROM and at the end, growth (MB, %), spread after warm-up, in bounds."""
    after = [row for row in rows if row["done"] >= FROM]
    found = {}
    for heap, (bound, _) in BOUNDS.items():
        values = [row[heap] for row in after]
        if None not in values:
            growth = values[-1] - values[0]
            found[heap] = {"first": values[0], "last": values[-1], "growth": growth,
                           "percent": 100 * growth / values[0], "spread": max(values) - min(values),
                           "ok": growth < bound}
    return found


def report(path: Path, args, order: list[Path], rows: list[dict], heaps: list[int], found: dict, version: str,
           device: str, started: float) -> None:
    sizes = ", ".join(f"{p.name} ({Image.open(p).width * Image.open(p).height / 1e6:.2f} MP)" for p in order)
    largest = [i + 1 for i, p in enumerate(order) if p.stem.endswith("4000x3000")]
    peak = heaps.index(max(heaps)) + 1
    span = {heap: (min(row[heap] for row in rows), max(row[heap] for row in rows)) for heap in found}
    lines = ["# Endurance: memory over a long batch through one remover", "",
             f"Written by `python3 build.py bench-endurance` on {datetime.date.today().isoformat()} in "
             f"{(time.time() - started) / 60:.0f} min. Machine: {machine()}. Browser: headless {version}, "
             f"cross-origin isolated. Model {args.model}, preset {args.preset}, device {device}, one remover "
             "with `threads: 1` (with onnxruntime's thread pool, each measurement waited 60 s for its parked "
             f"threads); {args.images} images, the cycle of {len(order)}: {sizes}.", "",
             "Browser: measureUserAgentSpecificMemory (the JS heaps of the page and its workers, and shared "
             "WebAssembly memories: onnxruntime's). Python: Pyodide's WebAssembly memory (meta.memory.python), "
             "which the browser's report leaves out. RSS: VmRSS summed over every renderer process of this "
             "browser (the page's, where its workers run, and Chromium's own). MB = 10^6 bytes.", "",
             "| images done | browser MB | Python heap MB | renderers' RSS MB | seconds elapsed |",
             "|---:|---:|---:|---:|---:|"]
    for row in rows:
        rss = f"{row['rss']:.1f}" if row["rss"] is not None else "–"
        lines.append(f"| {row['done']} | {row['browser']:.1f} | {row['python']:.1f} | {rss} | {row['seconds']:.0f} |")
    lines += ["", f"## Plateau: growth from image {FROM} to image {rows[-1]['done']}", "",
              f"Warm-up: the first {WARM_UP} images, in which every photo of the cycle is seen twice. A heap "
              f"plateaus when it grows by less than its bound from image {FROM} to the end.", "",
              f"| heap | at image {FROM} MB | at the end MB | growth MB | growth % | spread after warm-up MB "
              "| bound MB | verdict |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for heap, f in found.items():
        lines.append(f"| {HEAPS[heap]} | {f['first']:.1f} | {f['last']:.1f} | {f['growth']:+.1f} | {f['percent']:+.1f} "
                     f"| {f['spread']:.1f} | {BOUNDS[heap][0]} | {'plateau' if f['ok'] else '**grows**'} |")
    if "rss" not in found:
        lines.append("| renderers' RSS | – | – | – | – | – | – | not read: no renderer found under this process |")
    lines += ["", "The bounds:", ""] + [f"- {HEAPS[h]}, {bound} MB: {why}." for h, (bound, why) in BOUNDS.items()]
    lines += ["", "## What the figures show", "",
              f"Python's heap, read after every image, was {heaps[0] / 1e6:.1f} MB after image 1 and reached its "
              f"largest, {max(heaps) / 1e6:.1f} MB, at image {peak} of {len(heaps)} (the 12-megapixel photos are "
              f"images {' and '.join(map(str, largest))} of each cycle). Over all {len(rows)} measurements the "
              f"browser's report stayed between {span['browser'][0]:.1f} and {span['browser'][1]:.1f} MB"
              + (f", the renderers' RSS between {span['rss'][0]:.1f} and {span['rss'][1]:.1f} MB" if "rss" in span
                 else "") + f". The run took {rows[-1]['seconds'] / rows[-1]['done']:.1f} s per image.", ""]
    path.write_text("\n".join(lines))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench-endurance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder of source photos (build.py's)")
    parser.add_argument("--model", default="u2netp")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--images", type=int, default=100, help=f"at least {FROM} (default 100)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "endurance.md")
    args = parser.parse_args(argv)
    if args.images < FROM:
        parser.error(f"--images must be at least {FROM}: the plateau is measured from there")
    started = time.time()
    order = cycle(prepare_photos(args.photos, CACHE / "bench-photos"))
    with serving(served=SITE) as (_, app_url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.route(f"{app_url}photos/*", lambda route: route.fulfill(
            path=order[0].parent / route.request.url.rsplit("/", 1)[1]))
        page = blank_page(context, app_url)
        page.evaluate(SETUP, [args.model, args.preset])
        log(f"{args.images} images, {args.model}, {args.preset}")
        rows, heaps, device = run(page, f"{app_url}photos/", order, args.images)
        version = browser.version
        browser.close()
    found = verdict(rows)
    report(args.out, args, order, rows, heaps, found, version, device, started)
    for heap, f in found.items():
        log(f"{HEAPS[heap]}: {f['growth']:+.1f} MB ({f['percent']:+.1f}%) from image {FROM} to the end, "
            f"bound {BOUNDS[heap][0]} MB: {'plateau' if f['ok'] else 'GROWS'}")
    log(f"wrote {args.out}")
    return 0 if all(f["ok"] for f in found.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
