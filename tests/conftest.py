"""Shared fixtures: test photos, the native remover, the served app and Chromium."""
from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove import Remover
from bgremove.hosts.native import NativeHost
from chromium import CHROMIUM, CHROMIUM_ARGS
from tools import fixtures
from tools.assets import ROOT  # noqa: F401 (the tests take it from here)
from tools.serve import make_server

BOOT_TIMEOUT_MS = 120_000


def pytest_report_header(config):
    """Which browsers the run needs, and how to get one that is missing."""
    import browsers

    lines = ["browsers: chromium " + ("ok" if Path(CHROMIUM).exists() else
                                      "MISSING: sudo apt-get install chromium (bash .ci/run installs it)")]
    for engine in sorted(browsers.DRIVERS):
        lines.append(f"browsers: {engine} " + ("ok" if not browsers.missing(engine) else
                                               "MISSING: " + browsers.install_hint(engine)))
    return lines
RESULT_TIMEOUT_MS = 240_000


@pytest.fixture(scope="session")
def images() -> Path:
    """Real photographs shipped in scikit-image's wheel (fetched and checked by the build tools)."""
    return fixtures.test_images()


@pytest.fixture(scope="session")
def run():
    """Run a coroutine to completion: run(coroutine) -> its result.

    On an event loop of its own, on a thread, since Playwright's sync API holds the main one.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield lambda coroutine: asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()


@pytest.fixture(scope="session")
def native(run):
    """Run a coroutine of a shared native Remover: native(lambda r: r.remove(...))."""
    remover = Remover(NativeHost(), keep_models=True)  # the tests switch models often
    return lambda make: run(make(remover))


def rgba_of(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


@contextlib.contextmanager
def serving(host: str = "127.0.0.1", **options):
    """tools.serve.make_server(**options) on a thread of its own: yields (server, its base URL); stopped on exit.

    host only names it in the URL (localhost and 127.0.0.1 are different origins on one socket).
    """
    srv = make_server(0, **options)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv, f"http://{host}:{srv.server_address[1]}/"
    finally:
        srv.shutdown()  # returns at once when the test stopped it already
        srv.server_close()


@pytest.fixture(scope="session")
def server():
    with serving() as (_, url):
        yield url


def blank_page(opener, server: str):
    """A tab (opener: a browser, so a context of its own with an empty Cache Storage, or a context) on
    a blank, cross-origin isolated page of the app's origin, with no policy: for the embed API alone."""
    page = opener.new_page()
    isolated = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
    page.route(f"{server}blank.html", lambda route: route.fulfill(
        body="<!doctype html><title>blank</title>", content_type="text/html", headers=isolated))
    page.goto(f"{server}blank.html")
    return page


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the whole run: its sync API cannot be started twice in one process."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def chromium(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# Every violation of a page's security policy is kept where a test can read it (self.__violations):
# in the page with page.add_init_script(LISTEN_FOR_VIOLATIONS), in a worker with worker.evaluate(...).
LISTEN_FOR_VIOLATIONS = """self.__violations ??= [];
self.addEventListener("securitypolicyviolation", (e) => __violations.push(`${e.effectiveDirective} ${e.blockedURI}`));"""


class App:
    """The demo page in one tab, driven as a person would: pick files, read the cards."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, query: str = "") -> App:
        self.page.goto(self.base_url + query)
        self.page.wait_for_selector("body[data-engine]", timeout=BOOT_TIMEOUT_MS)
        assert self.page.get_attribute("body", "data-engine") == "ready", self.page.text_content("#engine")
        return self

    def set(self, **settings) -> None:
        """Change settings as a person would (each change makes the finished results again)."""
        for field, value in settings.items():
            locator = self.page.locator(f"#{field}")
            if locator.get_attribute("type") in ("range", "color"):
                locator.fill(str(value))
            else:
                locator.select_option(value)

    def submit(self, files: list, timeout_ms: int = RESULT_TIMEOUT_MS) -> list[dict]:
        """Put files (paths or {name, mimeType, buffer}) in the picker; return one dict per card, in order."""
        before = self.page.locator(".card").count()
        # Playwright takes paths or buffers, not both: send everything as buffers.
        files = [{"name": f.name, "mimeType": "image/" + f.suffix.lstrip(".").replace("jpg", "jpeg"),
                  "buffer": f.read_bytes()} if isinstance(f, Path) else f for f in files]
        self.page.set_input_files("#files", files)
        total = before + len(files)
        # Locators, not wait_for_function, whose predicate is eval'd: the page's policy forbids eval.
        finished = self.page.locator(".card[data-state=done], .card[data-state=error]")
        finished.nth(total - 1).wait_for(state="attached", timeout=timeout_ms)
        cards = self.page.locator(".card").all()[: len(files)]  # the newest batch is on top, in order
        return [self._read(card) for card in cards]

    def _read(self, card) -> dict:
        result = {"state": card.get_attribute("data-state"), "status": card.locator(".status").text_content(),
                  "error_code": card.get_attribute("data-error-code"), "meta": card.locator(".meta").text_content(),
                  "fallback": " ".join(card.locator(".fallback").all_text_contents())}
        if result["state"] == "done":
            # As a person would: click the link and keep the download (the policy lets no script fetch it).
            link = card.locator("a.download")
            with self.page.expect_download() as download:
                link.click()
            result["bytes"] = Path(download.value.path()).read_bytes()
            result["filename"] = download.value.suggested_filename
        return result


@pytest.fixture(scope="module")
def app(chromium, server):
    """One tab per test module, open on u2netp, so the engine boots once per module."""
    page = chromium.new_page()
    application = App(page, server).open("?model=u2netp")
    yield application
    assert not application.errors, application.errors
    page.close()


# A small test picture drawn in the page, as `canvas` (an OffscreenCanvas): green with a red square.
DRAW = """
    const canvas = new OffscreenCanvas(64, 48);
    const context = canvas.getContext("2d");
    context.fillStyle = "#3a6"; context.fillRect(0, 0, 64, 48);
    context.fillStyle = "#d22"; context.fillRect(20, 12, 24, 24);
"""
# Python's snapshot as the engine keeps it (static/engine/snapshot.js): forget it, damage it, measure it, or
# start a remover ("start", or "start and keep": wait until a booted start has kept its snapshot) and
# say whether Python came from it, with the mask of a small drawing.
SNAPSHOT = """async (action) => {
    const cache = await caches.open((await import("./static/engine/store.js")).CACHE_NAME);
    const build = await (await fetch("static/vendor/build.json")).json();
    const wasm = build.runtime.find((file) => file.path.endsWith("pyodide.asm.wasm"));
    const url = new URL(`static/vendor/pyodide/memory-snapshot-${wasm.sha256.slice(0, 16)}.bin`, location.href).href;
    if (action === "forget") return cache.delete(url);
    if (action === "damage") {
        const headers = { "x-sha256": (await cache.match(url)).headers.get("x-sha256") };
        return cache.put(url, new Response(new Uint8Array(1000), { headers }));
    }
    const size = async () => {
        const hit = await cache.match(url);
        return hit ? (await hit.arrayBuffer()).byteLength : null;
    };
    if (action === "size") return size();
    const { createRemover } = await import("./static/client/remover.js");
    const remover = createRemover({ model: "u2netp" });
    %s
    try {
        const info = await remover.ready;
        const { blob } = await remover.remove(await canvas.convertToBlob(), { output: "mask" });
        // A start that booted keeps its snapshot after it is ready: wait for it before the worker goes.
        for (let i = 0; action === "start and keep" && (await size()) === null && i < 60; i++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        return { fromSnapshot: info.pythonFromSnapshot, mask: Array.from(new Uint8Array(await blob.arrayBuffer())) };
    } finally {
        remover.dispose();
    }
}""" % DRAW
