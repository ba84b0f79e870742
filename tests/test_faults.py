"""The embed API in Chromium when the input or the machinery goes wrong: every failure a coded error,
nothing hangs, and the next call works."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

import claims
from conftest import App, blank_page

pytestmark = pytest.mark.browser

# A remover on a blank page of the app's origin, and helpers to hand it files from the test.
SETUP = """async () => {
    const { createRemover } = await import("./static/client/remover.js");
    window.remover = createRemover({ model: "u2netp" });
    await remover.ready;
    const canvas = new OffscreenCanvas(320, 240);
    const context = canvas.getContext("2d");
    context.fillStyle = "#2a7"; context.fillRect(0, 0, 320, 240);
    context.fillStyle = "#c33"; context.fillRect(100, 50, 120, 150);
    window.photo = await canvas.convertToBlob();
    window.bytesOf = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    window.outcome = (promise) => promise.then(
        ({ meta }) => ({ ok: true, meta }),
        (error) => ({ ok: false, code: error.code ?? null, name: error.name, message: error.message }));
}"""


@pytest.fixture
def page(chromium, server):
    """A remover of its own, for a test that breaks it."""
    page = blank_page(chromium, server)
    page.evaluate(SETUP)
    yield page
    page.close()


@pytest.fixture(scope="module")
def shared(chromium, server):
    """One remover for the tests that leave it as they found it."""
    page = blank_page(chromium, server)
    page.evaluate(SETUP)
    yield page
    page.close()


def test_oversized_images_are_refused_before_decoding_and_the_heap_stays(shared):
    files = {f"{fmt} {w}x{h}": claims.claiming(fmt, w, h) for fmt in claims.FORMATS
             for w, h in ((8000, 6000), claims.LARGEST[fmt])}
    files["PNG 20000x20000, complete"] = claims.solid_png(20000, 20000)
    encoded = {name: base64.b64encode(data).decode() for name, data in files.items()}
    heaps, refusals = shared.evaluate("""async (files) => {
        const heap = async () => (await remover.remove(photo)).meta.memory.python;
        const before = [await heap(), await heap()];
        const refusals = {};
        for (const [name, text] of Object.entries(files)) refusals[name] = await outcome(remover.remove(bytesOf(text)));
        // Decoded pixels, as ImageData and as a canvas (an ImageBitmap on the way), are refused as they come.
        refusals["ImageData 8000x6000"] = await outcome(remover.remove(new ImageData(8000, 6000)));
        const canvas = document.createElement("canvas");
        [canvas.width, canvas.height] = [8000, 6000];
        refusals["canvas 8000x6000"] = await outcome(remover.remove(canvas));
        return [[...before, await heap()], refusals];
    }""", encoded)
    wrong = {name: refusal for name, refusal in refusals.items() if refusal.get("code") != "too_large"}
    assert not wrong, list(wrong)
    for name, refusal in refusals.items():
        width_height = name.split()[1].rstrip(",")
        assert width_height in refusal["message"] and "40 megapixels" in refusal["message"], name
    assert heaps[1] == heaps[2], f"Python's heap grew from {heaps[1]} to {heaps[2]} bytes"


def test_calls_are_answered_in_the_order_they_were_made(shared, server):
    order = shared.evaluate("""async (url) => {
        const canvas = new OffscreenCanvas(3000, 2000);
        const context = canvas.getContext("2d");
        context.fillStyle = "#357"; context.fillRect(0, 0, 3000, 2000);
        context.fillStyle = "#eb3"; context.fillRect(900, 400, 1200, 1400);
        const large = await canvas.convertToBlob({ type: "image/jpeg" });
        const done = [];
        const track = (name, promise) => promise.then(() => done.push(name), (error) => done.push(`${name}: ${error.code}`));
        await Promise.all([
            track("large jpeg", remover.remove(large)),
            track("url", remover.remove(url)),            // fetched while the first one runs, sent after it
            track("release", remover.release()),
            track("small png", remover.remove(photo)),
            track("preload", remover.preload()),
            track("not an image", remover.remove(new Uint8Array([1, 2, 3]))),
            track("small again", remover.remove(photo)),
        ]);
        return done;
    }""", f"{server}static/vendor/build.json")
    assert order == ["large jpeg", "url: not_an_image", "release", "small png", "preload", "not an image: not_an_image",
                     "small again"]


@pytest.mark.parametrize("make,code,words", [
    ("'http://127.0.0.1:9/x.png'", "fetch_failed", "Could not fetch http://127.0.0.1:9/x.png"),
    ("'static/vendor/no-such-file.png'", "fetch_failed", "HTTP 404"),
    ("'http://['", "fetch_failed", "Could not fetch"),
    ("document.createElement('canvas')", None, None),  # 300x150: drawn, not empty
    ("Object.assign(document.createElement('canvas'), {width: 0, height: 0})", "empty_input", "no pixels (0×0)"),
    ("new OffscreenCanvas(5, 0)", "empty_input", "no pixels (5×0)"),
    ("(async () => { const b = await createImageBitmap(new ImageData(4, 4)); b.close(); return b; })()",
     "empty_input", "closed"),
    ("Object.assign(new Image(), {src: 'data:image/png;base64,AAAA'})", "corrupt_image", "could not be decoded"),
    ("new Image()", "corrupt_image", "no src"),
    ("{an: 'object'}", "bad_input", "Pass a File"),
    ("new Blob([])", "empty_input", "empty"),
])
def test_every_input_failure_has_a_code(shared, make, code, words):
    result = shared.evaluate(f"async () => outcome(remover.remove(await ({make})))")
    if code is None:
        assert result["ok"], result
    else:
        assert (result["code"], result["name"]) == (code, "RemovalError"), result
        assert words in result["message"], result
    assert shared.evaluate("outcome(remover.remove(photo))")["ok"], "the next call works"


@pytest.mark.parametrize("settings,when,words", [
    ({"model": "nope"}, "ready", 'Unknown model "nope": this build has isnet-medium, isnet-medium-q8, isnet-small, u2netp.'),
    ({"device": "gpu"}, "ready", 'Unknown device "gpu"'),
    ({"preset": "ultra"}, "ready", 'Unknown preset "ultra"'),
    ({"threads": 0}, "create", "threads must be a whole number above 0, not 0."),
    ({"threads": "4"}, "create", "threads must be a whole number"),
    ({"modle": "u2netp"}, "create", 'Unknown createRemover option "modle"'),
    ({"assetsUrl": "http://["}, "create", "is not a URL"),
])
def test_bad_settings_are_refused_by_create_remover_or_its_ready(shared, settings, when, words):
    result = shared.evaluate("""async (settings) => {
        const { createRemover } = await import("./static/client/remover.js");
        let created;
        try {
            created = createRemover(settings);
        } catch (error) {
            return { when: "create", code: error.code, message: error.message };
        }
        const ready = await outcome(created.ready.then((info) => ({ meta: info })));
        const call = await outcome(created.remove(photo));
        created.dispose();
        return { when: "ready", code: ready.code, message: ready.message, call: call.code };
    }""", settings)
    assert (result["when"], result["code"]) == (when, "bad_option"), result
    assert words in result["message"], result
    if when == "ready":
        assert result["call"] == "bad_option", "and every call says the same"


def worker(page, name):
    """The live worker whose script is `name` (worker.js, inference-worker.js)."""
    [found] = [w for w in page.workers if w.url.split("?")[0].endswith("/" + name)]
    return found


def kill(page, name):
    """End a worker from inside, through the browser's DevTools protocol: no error event, no reply."""
    worker(page, name).evaluate("self.close()")


# 27 megapixels of noise, so that decoding it keeps the engine busy long enough for a test to act.
LARGE = """window.large = await (async () => {
    const [width, height] = [6000, 4500];
    const canvas = new OffscreenCanvas(width, height);
    const noise = new ImageData(width, height);
    crypto.getRandomValues(noise.data.subarray(0, 65536));
    for (let y = 0; y < height; y += 16) noise.data.copyWithin(y * width * 4, 0, 65536);
    canvas.getContext("2d").putImageData(noise, 0, 0);
    return canvas.convertToBlob({ type: "image/jpeg", quality: 0.95 });
})();"""


@pytest.mark.parametrize("victim,at", [("worker.js", "inference"), ("inference-worker.js", "decode")])
def test_a_worker_killed_mid_request_fails_its_calls_with_worker_lost_and_the_next_call_restarts(page, victim, at):
    page.evaluate(f"async () => {{ {LARGE} }}")
    page.evaluate("""() => {
        window.stages = [];
        const onProgress = ({ stage }) => stages.push(stage);
        window.calls = [remover.remove(large, { onProgress }), remover.remove(photo), remover.preload()].map(outcome);
    }""")
    page.wait_for_function(f"stages.includes({at!r})", timeout=60_000)
    kill(page, victim)
    outcomes = page.evaluate("Promise.all(calls)")
    assert [o.get("code") for o in outcomes] == ["worker_lost"] * 3, outcomes
    assert "stopped" in outcomes[0]["message"] and "next call starts" in outcomes[0]["message"]
    assert page.evaluate("outcome(remover.remove(photo))")["ok"], "a new engine answers the next call"
    assert page.evaluate("remover.ready.then((info) => info.threads)") >= 1


@pytest.mark.parametrize("victim", ["worker.js", "inference-worker.js"])
def test_a_worker_killed_while_idle_is_replaced_at_the_next_call(page, victim):
    kill(page, victim)
    page.wait_for_timeout(500)
    result = page.evaluate("outcome(remover.remove(photo))")
    assert result["ok"], result


def test_the_page_shows_a_lost_engine_on_the_card_and_its_retry_works(chromium, server, images):
    page = chromium.new_page()
    app = App(page, server).open("?model=u2netp")
    noise = np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=95)
    page.set_input_files("#files", [{"name": "large.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()},
                                    {"name": "cup.png", "mimeType": "image/png",
                                     "buffer": (images / "coffee.png").read_bytes()}])
    page.locator(".card .status", has_text="Finding the subject").first.wait_for(timeout=60_000)
    kill(page, "worker.js")
    page.wait_for_selector(".card[data-state=error] >> nth=1", timeout=30_000)
    for card in page.locator(".card").all():
        assert card.get_attribute("data-error-code") == "worker_lost"
        assert "stopped" in card.locator(".status").text_content()
    page.locator(".card").nth(1).locator("button.retry").click()
    page.wait_for_selector(".card:nth-child(2)[data-state=done]", timeout=120_000)
    assert page.locator(".card").nth(1).locator("a.download").get_attribute("download") == "cup-cutout.png"
    assert page.locator(".card").nth(0).get_attribute("data-state") == "error", "the other card waits for its own retry"
    assert not app.errors, app.errors
    page.close()


@pytest.mark.parametrize("damage", ["404", "checksum"])
def test_a_missing_or_damaged_model_names_its_file_and_a_retry_works_once_it_is_fixed(page, server, damage):
    model = f"{server}static/vendor/models/isnet-small.onnx"  # not u2netp: the remover has that one already
    if damage == "404":
        page.route(model, lambda route: route.fulfill(status=404, body="not here"))
    else:
        page.route(model, lambda route: route.fulfill(status=200, body=b"\0" * 1000,
                                                      content_type="application/octet-stream"))
    failed = page.evaluate("outcome(remover.remove(photo, { model: 'isnet-small' }))")
    assert failed["code"] == "model_load_failed", failed
    assert "isnet-small.onnx" in failed["message"]
    assert ("HTTP 404" if damage == "404" else "failed its checksum") in failed["message"], failed
    page.unroute(model)
    fixed = page.evaluate("outcome(remover.remove(photo, { model: 'isnet-small' }))")
    assert fixed["ok"] and fixed["meta"]["model"] == "isnet-small", fixed


@pytest.mark.parametrize("damage", ["404", "checksum"])
@pytest.mark.parametrize("file", ["pyodide/python_stdlib.zip", "ort/ort-wasm-simd-threaded.wasm"])
def test_a_missing_or_damaged_runtime_file_stops_the_start_by_name_and_a_retry_works(chromium, server, file, damage):
    page = blank_page(chromium, server)
    url = f"{server}static/vendor/{file}"
    if damage == "404":
        page.route(url, lambda route: route.fulfill(status=404, body="not here"))
    else:
        page.route(url, lambda route: route.fulfill(status=200, body=b"\0" * 1000))
    started = page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        window.remover = createRemover({ model: "u2netp" });
        return remover.ready.then(() => ({ code: null }), (error) => ({ code: error.code, message: error.message }));
    }""")
    assert started["code"] == "boot_failed" and file.split("/")[-1] in started["message"], started
    assert ("HTTP 404" if damage == "404" else "failed its checksum") in started["message"], started
    page.unroute(url)
    fixed = page.evaluate("""remover.remove(new ImageData(64, 48)).then(({ meta }) => meta.width, (error) => error.message)""")
    assert fixed == 64, fixed
    page.close()


def test_every_kind_of_file_the_readme_says_is_read_is_cut_out(shared):
    files = {name: base64.b64encode(data).decode() for name, (data, _) in claims.variants().items()}
    sizes = shared.evaluate("""async (files) => {
        const sizes = {};
        for (const [name, text] of Object.entries(files)) {
            const result = await outcome(remover.remove(bytesOf(text), { preset: "fast" }));
            sizes[name] = result.ok ? [result.meta.width, result.meta.height] : result;
        }
        return sizes;
    }""", files)
    assert sizes == {name: list(size) for name, (_, size) in claims.variants().items()}


def test_a_session_that_never_comes_is_given_up_on_and_made_again_in_a_new_inference_worker(chromium, server):
    """onnxruntime-web's first session starts its wasm runtime, and in Firefox that start sometimes never
    ends. Here the first inference worker's WebAssembly.instantiate never settles, to the same effect."""
    page = blank_page(chromium, server)
    page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        window.remover = createRemover({});
        await remover.ready;
    }""")
    worker(page, "inference-worker.js").evaluate("(WebAssembly.instantiate = () => new Promise(() => {}), null)")
    result = page.evaluate("""Promise.race([
        remover.remove(new ImageData(64, 48), { model: "u2netp" }).then(
            ({ meta }) => ({ ok: true, width: meta.width }), (error) => ({ ok: false, code: error.code, message: error.message })),
        new Promise((resolve) => setTimeout(() => resolve({ ok: false, code: "still waiting after 150 s" }), 150_000)),
    ])""")
    assert result == {"ok": True, "width": 64}, result
    assert len([w for w in page.workers if "inference-worker.js" in w.url]) == 1, "the stuck worker is ended"
    page.close()


def test_an_error_nobody_foresaw_starts_python_again_and_the_request_is_still_answered(page):
    """A bug of ours, or the interpreter's memory damaged under it (WebKit has done so), surfaces as an
    internal error. Here a JavaScript built-in fails once, in the engine's worker, as Python makes its reply."""
    warnings = []
    page.on("console", lambda message: warnings.append(message.text))
    worker(page, "worker.js").evaluate("""(() => {
        const real = Object.fromEntries;
        Object.fromEntries = function (entries) {
            const list = [...entries];
            if (!list.some(([key]) => key === "ok")) return real(list);
            Object.fromEntries = real;
            throw new TypeError("a fault the test made");
        };
    })()""")
    result = page.evaluate("outcome(remover.remove(new ImageData(64, 48)))")
    assert result["ok"], result
    assert [w for w in warnings if "starting Python again after an internal error" in w], warnings
    assert page.evaluate("outcome(remover.remove(photo))")["ok"], "the new interpreter answers the next call too"
