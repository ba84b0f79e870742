"""The page, bad input and the embed client in the two other engine families: Firefox ESR and WebKitGTK.

The same checks as the Chromium tests that they mirror (test_browser.py, test_embedding.py), each
engine with its own driver (browsers.py). An engine that is missing here fails with the Debian
package to install. u2netp throughout.
"""
import io
import json

import pytest
from PIL import Image

import browsers
import claims
from conftest import SNAPSHOT, serving
from tools.serve import example_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=sorted(browsers.DRIVERS))
def engine(request):
    name = request.param
    if browsers.missing(name):
        pytest.fail(browsers.install_hint(name))
    driver = browsers.DRIVERS[name]()
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def page(engine, server):
    """The demo page, booted, in the engine."""
    engine.open(f"{server}?model=u2netp")
    engine.wait_for("document.body.dataset.engine")
    assert engine.evaluate("document.body.dataset.engine") == "ready", engine.evaluate(
        "document.getElementById('engine').textContent")
    yield engine
    assert engine.page_errors() == []


CARDS = """[...document.querySelectorAll(".card")].map((card) => ({
    state: card.dataset.state, code: card.dataset.errorCode ?? null,
    status: card.querySelector(".status").textContent, meta: card.querySelector(".meta").textContent,
    download: card.querySelector("a.download")?.download ?? null }))"""


def cards(page) -> list[dict]:
    return page.evaluate(CARDS)


# What a timeout reports: every card and the engine line.
PAGE_STATE = f"({{ cards: {CARDS}, engine: document.getElementById('engine').textContent }})"


def submit(page, paths) -> list[dict]:
    """Pick files as a person would; the newest cards, in order, once all are finished."""
    before = page.evaluate("document.querySelectorAll('.card').length")
    page.upload("#files", paths)
    total = before + len(paths)
    # Told apart: files that never reached the page (the driver) and cards that never finish (the product).
    page.wait_for(f"document.querySelectorAll('.card').length >= {total}", 30, PAGE_STATE)
    page.wait_for(f"document.querySelectorAll('.card[data-state=done], .card[data-state=error]').length >= {total}",
                  state=PAGE_STATE)
    return cards(page)[: len(paths)]


# The result as the page shows it: its alpha at a few points, read back through a canvas (the page's
# policy lets no script fetch the blob: it came in).
ALPHA_AT = """(async () => {
    const image = document.querySelector(".card .thumb img");
    await image.decode();
    const canvas = new OffscreenCanvas(image.naturalWidth, image.naturalHeight);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const at = (x, y) => context.getImageData(x, y, 1, 1).data[3];
    return { size: [canvas.width, canvas.height], cup: at(300, 200), corners: [at(0, 0), at(599, 0), at(0, 399), at(599, 399)] };
})()"""


def test_the_page_cuts_out_a_photo(page, images):
    [card] = submit(page, [images / "coffee.png"])
    assert card["state"] == "done", card
    assert card["download"] == "coffee-cutout.png" and "u2netp on wasm" in card["meta"]
    alpha = page.evaluate(ALPHA_AT)
    assert alpha["size"] == [600, 400] and alpha["cup"] > 240 and max(alpha["corners"]) < 20, alpha


def test_the_engine_line_says_what_the_runtime_uses(page):
    line = page.evaluate("document.getElementById('engine').textContent")
    info = page.evaluate("""(async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const remover = createRemover({ threads: 2 });
        const info = await remover.ready;
        remover.dispose();
        return { threads: info.threads, single: info.single,
                 shared: typeof SharedArrayBuffer !== "undefined", isolated: crossOriginIsolated };
    })()""")
    if info["shared"] and info["isolated"]:
        assert info["threads"] == 2 and info["single"] is None, info
    else:
        assert info["threads"] == 1 and info["single"], info
        assert f"1 thread ({info['single']})" in line, line


def test_bad_files_fail_on_their_own_card_and_the_next_image_works(page, images, tmp_path):
    buffer = io.BytesIO()
    Image.open(images / "coffee.png").save(buffer, "JPEG")
    files = {"notes.txt": b"just some text", "empty.png": b""}
    # Engines differ on a truncated file (Chromium refuses a PNG that Firefox and WebKit show in part):
    # the pipeline refuses each of these itself, so every engine says the same.
    for fmt in claims.CHECKED_ENDS:
        data = claims.photo_file(fmt)
        files[f"truncated.{fmt.lower()}"] = data[: len(data) // 3]
    files["wrong-extension.png"] = buffer.getvalue()
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    results = submit(page, [tmp_path / name for name in files] + [images / "astronaut.png"])
    codes = ["not_an_image", "empty_input", *["corrupt_image"] * len(claims.CHECKED_ENDS)]
    assert [c["code"] for c in results[:-2]] == codes, results
    assert all("Error (" in c["status"] for c in results[:-2])
    assert results[-2]["state"] == "done", "a JPEG named .png is a JPEG"
    assert results[-1]["state"] == "done" and "512×512" in results[-1]["meta"]


def test_a_start_restores_python_from_the_snapshot_an_earlier_start_kept(page):
    def run(action):
        return page.evaluate(f"({SNAPSHOT})({json.dumps(action)})")

    run("forget")
    booted = run("start and keep")
    assert booted["fromSnapshot"] is False and run("size") > 10_000_000
    assert run("start") == {"fromSnapshot": True, "mask": booted["mask"]}


def test_another_site_embeds_the_remover(engine, server, images):
    with serving("localhost", **example_site(server.rstrip("/"))) as (_, site):
        engine.open(f"{site}?assets={server}static/")
        engine.wait_for("document.body.dataset.ready || document.getElementById('status').textContent.includes('Error')")
        assert engine.evaluate("document.body.dataset.ready") == "yes", engine.evaluate(
            "document.getElementById('status').textContent")
        engine.upload("#file", [images / "coffee.png"])
        engine.wait_for("document.body.dataset.state && document.body.dataset.state !== 'working'", state="""({
            state: document.body.dataset.state ?? null, status: document.getElementById('status').textContent,
            log: document.getElementById('log').textContent })""")
        status = engine.evaluate("document.getElementById('status').textContent")
        assert status.startswith("Done: 600×400 on wasm"), status
        assert engine.page_errors() == []

