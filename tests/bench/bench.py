"""`python3 build.py bench`: our remover against @imgly/background-removal 1.4.5, side by side.

Both run in one headless Chromium, on the same photos, with the same model file and the same
device (the wasm EP on every core, cross-origin isolated), one after the other per photo in a
rotating order so that the machine's noise hits both alike. Native onnxruntime on the same model
and photos is the floor for inference. Writes docs/bench.md (hand-written notes below its
HISTORY marker are kept) and docs/bench.png.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import sync_playwright

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
sys.path[:0] = [str(BENCH.parent)]

from tools.assemble import SITE  # noqa: E402
from tools.assets import CACHE, lock  # noqa: E402
from tools import headers  # noqa: E402
from tools.serve import make_server  # noqa: E402
from bgremove import Remover  # noqa: E402
from bgremove.models import DEFAULT_MODEL  # noqa: E402
from bgremove.options import DEFAULT_PRESET  # noqa: E402
from bgremove.hosts.native import NativeHost  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PEER = "imgly"
PEER_NAME = "@imgly/background-removal 1.4.5"
PEER_DEFAULT = "isnet-medium"  # the model it runs unless told otherwise (its config's "medium")
PEER_MODELS = ("isnet-medium", "isnet-small")  # ours that it has too; against another of ours it runs its default
CONTENDERS = (PEER, "fast", "balanced")  # ours under the reference's arithmetic, and our default preset
STAGES = ("decode", "preprocess", "inference", "postprocess", "encode")
HISTORY = "<!-- HISTORY: everything below this line is kept when the benchmark rewrites the file -->"
RESULT_TIMEOUT_MS = 600_000
LINGER_MS = 5_000  # a page stays open this long after its cold start's first result

# The photos: scikit-image's (fetched and checked by build.py), as they come and cropped or scaled
# to other sizes and shapes. (file, source, crop to width/height or None, width or None)
PHOTOS = (
    ("chelsea-451x300.png", "chelsea.png", None, None),
    ("astronaut-512x512.png", "astronaut.png", None, None),
    ("coffee-600x400.png", "coffee.png", None, None),
    ("rocket-427x640.jpg", "rocket.jpg", None, None),
    ("motorcycle-741x500.png", "motorcycle_left.png", None, None),
    ("coffee-1600x1067.jpg", "coffee.png", None, 1600),
    ("rocket-1000x2000.jpg", "rocket.jpg", 1 / 2, 1000),
    ("chelsea-2700x900.jpg", "chelsea.png", 3 / 1, 2700),
    ("astronaut-4000x3000.jpg", "astronaut.png", 4 / 3, 4000),  # 12 megapixels
)


def prepare_photos(sources: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, source, aspect, width in PHOTOS:
        path = out / name
        paths.append(path)
        if path.exists():
            continue
        image = Image.open(sources / source).convert("RGB")
        if aspect:
            w, h = image.size
            cw, ch = (w, round(w / aspect)) if w / h < aspect else (round(h * aspect), h)
            cw, ch = min(cw, w), min(ch, h)
            left, top = (w - cw) // 2, (h - ch) // 2
            image = image.crop((left, top, left + cw, top + ch))
        if width:
            image = image.resize((width, round(width * image.height / image.width)), Image.LANCZOS)
        if path.suffix == ".jpg":
            image.save(path, quality=92)
        else:
            image.save(path)
    return paths


def peer_headers(relative: str, isolated: bool = True) -> dict[str, str]:
    """The peer's site: isolated as ours is (its threads), but without our page's policy, which would
    stop it fetching the photos from their own origin."""
    return {**headers.ISOLATION, **headers.EVERYWHERE}


@contextlib.contextmanager
def servers(peer_dist: Path, photos: Path):
    """Ours on 127.0.0.1, the peer on localhost (another site, so another renderer process), photos on a third."""
    running = [make_server(served=SITE + ("tests/bench/ours.html",)),
               make_server(served=("index.html", "assets/", "data/"), root=peer_dist, headers_for=peer_headers),
               make_server(served=tuple(p.name for p in photos.iterdir()), root=photos)]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ours, peer, pictures = (server.server_address[1] for server in running)
    try:
        yield {"ours": f"http://127.0.0.1:{ours}/tests/bench/ours.html", PEER: f"http://localhost:{peer}/",
               "photos": f"http://127.0.0.1:{pictures}/"}
    finally:
        for server in running:
            server.shutdown()
            server.server_close()


def peer_model(model: str) -> str:
    return model if model in PEER_MODELS else PEER_DEFAULT


def model_for(who: str, model: str) -> str:
    """The model a contender runs when ours runs `model`: the same, or for the peer its counterpart."""
    return peer_model(model) if who == PEER else model


def run_on(page, photo_url: str, model: str, preset: str) -> dict:
    return page.evaluate(
        "([url, options]) => bench.run(url, options).then(r => ({...r, since_open: performance.now()}))",
        [photo_url, {"model": model, "preset": preset}])


def open_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.goto(url)
    page.wait_for_function("window.bench !== undefined")
    return page


def page_url(urls: dict, who: str, model: str) -> str:
    """Ours is told its model when it starts, as a site using createRemover({model}) would."""
    return urls[PEER] if who == PEER else f"{urls['ours']}?model={model}"


def cold_starts(browser, urls: dict, photo_url: str, model: str, rounds: int) -> dict:
    """Page open to first result, ours with its default preset: in a fresh profile (all downloaded), then in a
    second page (browser cache warm), each page left open LINGER_MS after its result.

    Each is the median of `rounds` samples, the contenders taking turns, since one cold start swings by a fifth here.
    """
    samples = {who: {"fresh": [], "cached": []} for who in (PEER, "ours")}
    for _ in range(rounds):
        for who, found in samples.items():
            context = browser.new_context()
            try:
                for key in ("fresh", "cached"):
                    page = open_page(context, page_url(urls, who, model))
                    found[key].append(run_on(page, photo_url, model_for(who, model), DEFAULT_PRESET)["since_open"] / 1000)
                    # A visit lasts a while after its first result: what either side keeps for the next one
                    # once it is idle (our Python snapshot) is kept, as it would be for a real visitor.
                    page.wait_for_timeout(LINGER_MS)
                    page.close()
            finally:
                context.close()
            log(f"  cold start {who}: {found['fresh'][-1]:.1f} s fresh, {found['cached'][-1]:.1f} s cached")
    return {who: {key: median(values) for key, values in found.items()} for who, found in samples.items()}


def warm_runs(browser, urls: dict, photos: list[Path], model: str) -> tuple[dict, dict]:
    """Every photo through each contender once, after one warm-up run; then each page's memory."""
    context = browser.new_context()
    try:
        pages = {PEER: open_page(context, urls[PEER]), "ours": open_page(context, page_url(urls, "ours", model))}
        page_of = {who: pages[PEER if who == PEER else "ours"] for who in CONTENDERS}
        for who in CONTENDERS:
            run_on(page_of[who], urls["photos"] + photos[0].name, model_for(who, model), who)
        runs = {who: {} for who in CONTENDERS}
        for i, photo in enumerate(photos):
            for who in CONTENDERS[i % 3:] + CONTENDERS[:i % 3]:
                result = run_on(page_of[who], urls["photos"] + photo.name, model_for(who, model), who)
                runs[who][photo.name] = result
                inference = result["stages"]["inference"] / 1000
                log(f"  {photo.name} {who}: {result['ms'] / 1000:.2f} s (inference {inference:.2f} s)")
        memory = {who: page_memory(page) for who, page in pages.items()}
        # Python's heap is a WebAssembly memory that is not shared, which the browser's report leaves
        # out (onnxruntime's, on both sides, is shared and counted): ours adds it from the worker's own
        # figure. It only grows, so its last size is its peak.
        heap = max(runs[who][name]["pythonHeap"] for who in ("fast", "balanced") for name in runs[who]) / 1e6
        memory[PEER]["python_mb"] = 0.0
        memory["ours"]["python_mb"] = heap
        for found in memory.values():
            found["total_mb"] = found["browser_mb"] + found["python_mb"]
        return runs, memory
    finally:
        context.close()


def page_memory(page) -> dict:
    """What measureUserAgentSpecificMemory reports for the page and its workers, in MB.

    WebAssembly memories only grow, so after the runs they are at their peak. The call can
    take about a minute: it waits on worker threads parked in Atomics.wait (ORT's pool).
    """
    report = page.evaluate("""async () => {
        const m = await performance.measureUserAgentSpecificMemory();
        return {total: m.bytes, scopes: m.breakdown.filter(b => b.bytes > 0).map(b => ({
            bytes: b.bytes, scope: b.attribution.map(a => a.scope).join(",")}))};
    }""")
    workers = sum(b["bytes"] for b in report["scopes"] if "Worker" in b["scope"])
    return {"browser_mb": report["total"] / 1e6, "workers_mb": workers / 1e6,
            "window_mb": (report["total"] - workers) / 1e6}


def native_inference(photos: list[Path], model: str) -> dict[str, float]:
    """Seconds of inference per photo under native onnxruntime (CPython, same model file, every core)."""
    async def measure():
        remover = Remover(NativeHost())
        await remover.session(model)
        timings = {}
        for photo in photos:
            result = await remover.remove(photo.read_bytes(), {"model": model, "preset": "fast"})
            timings[photo.name] = result.timings["inference"]
        return timings
    return asyncio.run(measure())


# --------------------------------------------------------------------- report

def seconds(runs: dict, stage: str | None = None) -> list[float]:
    return [(r["stages"][stage] if stage else r["ms"]) / 1000 for r in runs.values()]


def median(values) -> float:
    return statistics.median(values)


def model_section(model: str, cold: dict, runs: dict, memory: dict, native: dict,
                  photos: list[Path], rounds: int) -> tuple[list[str], dict]:
    big = photos[-1].name
    imgly_median = median(seconds(runs[PEER]))
    ratios = {
        "fast / imgly, warm median": median(seconds(runs["fast"])) / imgly_median,
        "balanced / imgly, warm median": median(seconds(runs["balanced"])) / imgly_median,
        "cold start, fresh / imgly": cold["ours"]["fresh"] / cold[PEER]["fresh"],
        "cold start, cached / imgly": cold["ours"]["cached"] / cold[PEER]["cached"],
        "peak memory / imgly": memory["ours"]["total_mb"] / memory[PEER]["total_mb"],
        "wasm inference / native": median(seconds(runs["fast"], "inference")) / median(native.values()),
        "outside inference / inference, fast, 12 MP": outside_share(runs["fast"][big]),
        "outside inference / inference, balanced, 12 MP": outside_share(runs["balanced"][big]),
    }
    lines = [f"## {model}", ""]
    if peer_model(model) != model:
        lines += [f"The peer has no {model}: its column is its default model, {PEER_DEFAULT}.", ""]
    lines += [f"Cold start, page open to first finished result (first photo, {DEFAULT_PRESET} preset for ours; median "
              f"of {rounds} rounds; each page stays open {LINGER_MS / 1000:.0f} s after it):", "",
              "| | imgly | ours | ours / imgly |", "|---|---:|---:|---:|"]
    for key, label in (("fresh", "fresh profile, all downloaded"), ("cached", "second page, browser cache warm")):
        lines.append(f"| {label} | {cold[PEER][key]:.1f} s | {cold['ours'][key]:.1f} s | "
                     f"{cold['ours'][key] / cold[PEER][key]:.2f} |")
    lines += ["", "Warm, per photo (seconds, the page's own clock around one call; native = inference only):", "",
              "| photo | imgly | ours fast | ours balanced | fast / imgly | native inference |",
              "|---|---:|---:|---:|---:|---:|"]
    for photo in photos:
        name = photo.name
        a, f, b = (runs[who][name]["ms"] / 1000 for who in CONTENDERS)
        lines.append(f"| {name} | {a:.2f} | {f:.2f} | {b:.2f} | {f / a:.2f} | {native[name]:.2f} |")
    spread = {who: seconds(runs[who]) for who in CONTENDERS}
    lines.append("| **median** | " + " | ".join(f"**{median(spread[w]):.2f}**" for w in CONTENDERS)
                 + f" | **{median(spread['fast']) / imgly_median:.2f}** | **{median(native.values()):.2f}** |")
    lines.append("| range | " + " | ".join(f"{min(spread[w]):.2f}–{max(spread[w]):.2f}" for w in CONTENDERS)
                 + f" | | {min(native.values()):.2f}–{max(native.values()):.2f} |")
    lines += ["", "Stages, median over the photos and on the 12-megapixel photo (seconds):", "",
              "| stage | imgly | ours fast | ours balanced | imgly 12 MP | fast 12 MP | balanced 12 MP |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for stage in STAGES + ("other",):
        medians = [median(seconds(runs[w], stage)) for w in CONTENDERS]
        at_big = [runs[w][big]["stages"][stage] / 1000 for w in CONTENDERS]
        lines.append(f"| {stage} | " + " | ".join(f"{v:.3f}" for v in medians + at_big) + " |")
    lines += ["", "Memory after the runs (MB; WebAssembly memories only grow, so this is their peak). The browser's "
              "report (measureUserAgentSpecificMemory) counts JS heaps and shared WebAssembly memories, "
              "onnxruntime's on both sides, but not a memory that is not shared, such as our Python heap: "
              "that one is the worker's own figure (meta.memory.python).", "",
              "| | imgly | ours | ours / imgly |", "|---|---:|---:|---:|"]
    for key, label in (("total_mb", "**total**"), ("workers_mb", "workers, as the browser reports them"),
                       ("window_mb", "page, as the browser reports it"),
                       ("python_mb", "Python's heap, not in the browser's report")):
        ours, peer = memory["ours"][key], memory[PEER][key]
        lines.append(f"| {label} | {peer:.0f} | {ours:.0f} | {ours / peer:.2f} |" if peer else
                     f"| {label} | – | {ours:.0f} | |")
    lines.append("")
    return lines, ratios


def outside_share(run: dict) -> float:
    stages = run["stages"]
    return (run["ms"] - stages["inference"]) / stages["inference"]


def chart(results: dict, path: Path) -> None:
    """Stacked bars: the median of each stage, per contender and model."""
    colours = {"decode": "#4e79a7", "preprocess": "#f28e2b", "inference": "#76b7b2", "postprocess": "#e15759",
               "encode": "#59a14f", "other": "#bab0ac"}
    rows = [(f"{peer_model(model)}  {PEER}" if who == PEER else f"{model}  ours {who}",
             [median(seconds(data["runs"][who], stage)) for stage in colours])
            for model, data in results.items() for who in CONTENDERS]
    font = ImageFont.load_default(size=13)
    label_w, bar_w, row_h, top = 250, 520, 26, 40
    longest = max(sum(values) for _, values in rows)
    image = Image.new("RGB", (label_w + bar_w + 70, top + row_h * len(rows) + 60), "white")  # room for the totals
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "Median seconds per stage, warm, per photo (headless Chromium, wasm)", fill="black", font=font)
    for i, (label, values) in enumerate(rows):
        y = top + i * row_h
        draw.text((10, y + 4), label, fill="black", font=font)
        x = label_w
        for stage, value in zip(colours, values):
            width = bar_w * value / longest
            draw.rectangle((x, y + 2, x + width, y + row_h - 4), fill=colours[stage])
            x += width
        draw.text((x + 4, y + 4), f"{sum(values):.1f} s", fill="black", font=font)
    x, y = 10, top + row_h * len(rows) + 20
    for stage, colour in colours.items():
        draw.rectangle((x, y, x + 14, y + 14), fill=colour)
        draw.text((x + 18, y), stage, fill="black", font=font)
        x += 30 + int(draw.textlength(stage, font=font))
    image.save(path)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal")) / 2**20
    return f"{os.cpu_count()} × {cpu}, {memory:.0f} GiB"


def defaults_section(results: dict) -> list[str]:
    """What a visitor who chooses nothing gets on either side: our default model and preset against the peer's
    default model, from the section where the peer ran it beside our default (interleaved), else from its own.
    Empty when this run left either model out."""
    beside = peer_model(DEFAULT_MODEL) == PEER_DEFAULT
    if DEFAULT_MODEL not in results or not (beside or PEER_DEFAULT in results):
        return []
    ours, peer = results[DEFAULT_MODEL], results[DEFAULT_MODEL if beside else PEER_DEFAULT]
    rows = [("warm median, per photo", median(seconds(ours["runs"][DEFAULT_PRESET])),
             median(seconds(peer["runs"][PEER])), "s"),
            ("cold start, fresh profile", ours["cold"]["ours"]["fresh"], peer["cold"][PEER]["fresh"], "s"),
            ("cold start, browser cache warm", ours["cold"]["ours"]["cached"], peer["cold"][PEER]["cached"], "s"),
            ("peak memory, all heaps", ours["memory"]["ours"]["total_mb"], peer["memory"][PEER]["total_mb"], "MB")]
    lines = ["## Defaults against defaults", "",
             f"What a visitor gets without choosing: ours is {DEFAULT_MODEL} with the {DEFAULT_PRESET} preset, "
             f"{PEER_NAME}'s is {PEER_DEFAULT} (its \"medium\"), from the sections below.", "",
             "| | imgly | ours | ours / imgly |", "|---|---:|---:|---:|"]
    for label, mine, theirs, unit in rows:
        digits = 0 if unit == "MB" else 2
        lines.append(f"| {label} | {theirs:.{digits}f} {unit} | {mine:.{digits}f} {unit} | {mine / theirs:.2f} |")
    return lines + [""]


def write_report(path: Path, results: dict, photos: list[Path], browser_version: str, started: float) -> None:
    ort = lock()["downloads"]["onnxruntime-web"]["spec"]
    lines = ["# Benchmark: ours against @imgly/background-removal", "",
             f"Written by `python3 build.py bench` on {datetime.date.today().isoformat()} "
             f"in {(time.time() - started) / 60:.0f} min. Machine: {machine()}; "
             f"headless Chromium {browser_version}, cross-origin isolated, wasm EP with "
             f"{os.cpu_count()} threads on both sides. Ours: {ort}, Pyodide "
             f"{lock()['downloads']['pyodide']['spec'].split('@')[1]}. Peer: {PEER_NAME} with "
             "onnxruntime-web 1.17.0 and its data package as publicPath (the same model files as ours).", "",
             f"Photos: {len(photos)}, from {Image.open(photos[0]).width} to {Image.open(photos[-1]).width} px wide, "
             "aspect 1:2 to 3:1, the last one 12 megapixels (scikit-image's samples, cropped and scaled: "
             "tests/bench/bench.py). Each photo runs once per contender, in a rotating order, after a warm-up. "
             "Absolute seconds on this shared 2-core machine are noisy; compare the ratios.", "",
             "\"fast\" is the reference pipeline's arithmetic (bit for bit on the same graph; our pruned IS-Net "
             "medium graph moves 0.02% of mask pixels by one level); "
             "\"balanced\" is our default preset. Stages: the peer's are timed from outside its code "
             "(its progress events, InferenceSession.run, the ImageData it encodes); \"other\" is the rest "
             "of the call (for ours, messages to and from the worker).", "",
             "![Median time per stage](bench.png)", "", "## Ratios", "",
             "| | " + " | ".join(results) + " |", "|---|" + "---:|" * len(results)]
    for key in next(iter(results.values()))["ratios"]:
        lines.append(f"| {key} | " + " | ".join(f"{data['ratios'][key]:.2f}" for data in results.values()) + " |")
    lines += ["", *defaults_section(results)]
    for data in results.values():
        lines += data["lines"]
    old = path.read_text() if path.exists() else ""
    history = old[old.index(HISTORY):] if HISTORY in old else HISTORY + "\n"
    path.write_text("\n".join(lines) + "\n" + history)


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, required=True, help="the peer page's built folder (build.py makes it)")
    parser.add_argument("--photos", type=Path, required=True,
                        help="the folder of source photos (build.py's test images)")
    parser.add_argument("--models", default="isnet-medium-q8,isnet-medium,isnet-small")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench.md")
    parser.add_argument("--cold-rounds", type=int, default=3, help="cold starts per contender (default 3)")
    args = parser.parse_args(argv)
    started = time.time()
    photos = prepare_photos(args.photos, CACHE / "bench-photos")
    models = args.models.split(",")
    natives = {}
    for model in models:  # before Playwright, whose sync API holds this thread's event loop
        log(f"{model}: native onnxruntime")
        natives[model] = native_inference(photos, model)
    results = {}
    with servers(args.peer, photos[0].parent) as urls, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for model in models:
            native = natives[model]
            log(f"{model}: cold starts")
            cold = cold_starts(browser, urls, urls["photos"] + photos[0].name, model, args.cold_rounds)
            log(f"{model}: warm runs")
            runs, memory = warm_runs(browser, urls, photos, model)
            lines, ratios = model_section(model, cold, runs, memory, native, photos, args.cold_rounds)
            results[model] = {"lines": lines, "ratios": ratios, "runs": runs, "cold": cold, "memory": memory}
        version = browser.version
        browser.close()
    write_report(args.out, results, photos, version, started)
    chart(results, args.out.with_suffix(".png"))
    (CACHE / "bench-last.json").write_text(json.dumps(results, indent=1))
    log(f"wrote {args.out} and {args.out.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
