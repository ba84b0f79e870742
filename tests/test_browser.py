"""The real page in Chromium: files in the picker, PNGs out of the cards (u2netp)."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from bgremove.models import MODELS
from conftest import DRAW, SNAPSHOT, rgba_of
from tools.assets import VENDOR

pytestmark = pytest.mark.browser


def test_engine_is_cross_origin_isolated_with_threads(app):
    assert app.page.evaluate("crossOriginIsolated") is True
    threads = app.page.evaluate("navigator.hardwareConcurrency")
    assert f"{threads} threads" in app.page.text_content("#engine")


def test_model_selector_shows_sizes_and_licences(app):
    labels = app.page.locator("#model option").all_text_contents()
    assert len(labels) == len(MODELS)
    assert any("AGPL-3.0" in label and "88 MB" in label for label in labels)
    assert any("Apache-2.0" in label for label in labels)
    assert app.page.input_value("#model") == "u2netp", "?model= preselects"


def test_a_photo_comes_back_with_a_transparent_background(app, images):
    [card] = app.submit([images / "coffee.png"])
    assert card["state"] == "done", card["status"]
    assert card["bytes"][:8] == b"\x89PNG\r\n\x1a\n" and card["filename"] == "coffee-cutout.png"
    out, source = rgba_of(card["bytes"]), rgba_of((images / "coffee.png").read_bytes())
    assert out.shape == source.shape
    alpha = out[..., 3]
    assert alpha[200, 300] > 240, "the cup is kept"
    assert max(alpha[0, 0], alpha[0, -1], alpha[-1, 0], alpha[-1, -1]) < 20, "the table is removed"
    # Colours are re-estimated only where alpha < 0.98; above that they are the photo's own.
    solid = alpha >= 251
    assert solid.mean() > 0.3 and np.array_equal(out[solid][:, :3], source[solid][:, :3]), "colours untouched"
    assert "u2netp on wasm" in card["meta"]


def test_faint_edge_pixels_keep_their_colour_on_the_way_out(app, images):
    """The PNG is written from the pixels themselves: a canvas would premultiply them by alpha in 8 bits
    and lose the colour of the faintest (fast keeps the photo's colours, so they must come back exact)."""
    data = (images / "coffee.png").read_bytes()
    sent = app.page.evaluate("""async (bytes) => {
        const { createRemover } = await import("./static/client/remover.js");
        const remover = createRemover({ model: "u2netp" });
        const { blob } = await remover.remove(new Uint8Array(bytes), { preset: "fast" });
        remover.dispose();
        return Array.from(new Uint8Array(await blob.arrayBuffer()));
    }""", list(data))
    out, source = rgba_of(bytes(sent)), rgba_of(data)
    faint = (out[..., 3] > 0) & (out[..., 3] < 32)
    assert faint.sum() > 100 and np.array_equal(out[faint][:, :3], source[faint][:, :3])
    seen = out[..., 3] > 0
    assert np.array_equal(out[seen][:, :3], source[seen][:, :3]) and not out[~seen][:, :3].any()


def test_bad_files_fail_on_their_own_card_and_the_next_image_works(app, images):
    data = (images / "coffee.png").read_bytes()
    cards = app.submit([
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some text"},
        {"name": "empty.png", "mimeType": "image/png", "buffer": b""},
        {"name": "broken.png", "mimeType": "image/png", "buffer": data[: len(data) // 3]},
        images / "astronaut.png",
    ])
    assert [c["error_code"] for c in cards[:3]] == ["not_an_image", "empty_input", "corrupt_image"]
    assert "not an image" in cards[0]["status"] and "empty" in cards[1]["status"]
    assert cards[3]["state"] == "done"
    assert rgba_of(cards[3]["bytes"]).shape == (512, 512, 4)


def test_tiff_decodes_through_pillow_and_heic_is_reported_unsupported(app, images):
    buffer = io.BytesIO()
    Image.open(images / "coffee.png").save(buffer, "TIFF")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    tiff, fake = app.submit([{"name": "cup.tiff", "mimeType": "image/tiff", "buffer": buffer.getvalue()},
                             {"name": "phone.heic", "mimeType": "image/heic", "buffer": heic}])
    assert tiff["state"] == "done" and rgba_of(tiff["bytes"])[0, 0, 3] < 20
    assert fake["error_code"] == "unsupported_format" and "HEIC" in fake["status"]


def test_mask_and_background_outputs_in_other_formats(app, images):
    app.set(output="mask", format="webp")
    [mask] = app.submit([images / "coffee.png"])
    app.set(output="background", format="jpeg", quality=0.8)
    [background] = app.submit([images / "coffee.png"])
    app.set(output="foreground", format="png")
    assert mask["bytes"][8:12] == b"WEBP" and mask["filename"].endswith(".webp")
    grey = rgba_of(mask["bytes"])
    assert grey[200, 300, 0] > 200 and grey[0, 0, 0] < 40 and np.all(grey[..., 3] == 255)
    assert background["bytes"][:3] == b"\xff\xd8\xff"
    flat = rgba_of(background["bytes"])
    assert flat[200, 300, :3].min() > 230, "the cup's place is white in a JPEG"


def test_exif_orientation_is_applied(app, images):
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.open(images / "coffee.png").convert("RGB").save(buffer, "JPEG", exif=exif.tobytes())
    [card] = app.submit([{"name": "rotated.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}])
    assert rgba_of(card["bytes"]).shape == (600, 400, 4)


def test_embedding_api_reports_errors_progress_and_releases_sessions(app):
    """static/client/remover.js, as another site would use it."""
    result = app.page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const starting = [];
        const remover = createRemover({ model: "u2netp", onProgress: (event) => starting.push(event) });
        await remover.ready;
        %s
        let error;
        try { await remover.remove(new TextEncoder().encode("no image")); } catch (e) { error = [e.name, e.code]; }
        const early = [];
        const { blob, meta } = await remover.remove(await canvas.convertToBlob(), { onProgress: (e) => early.push(e) });
        const released = [await remover.release("u2netp"), await remover.release()];
        const events = [];
        await remover.remove(await canvas.convertToBlob(), { onProgress: (e) => events.push(e) });
        remover.dispose();
        let afterDispose;
        try { await remover.remove(new Uint8Array(4)); } catch (e) { afterDispose = e.code; }
        const download = events.filter((e) => e.stage === "download").at(-1);
        const last = (stage) => starting.filter((e) => e.stage === stage).at(-1);
        return { error, type: blob.type, size: [meta.width, meta.height], heap: meta.memory.python, released, afterDispose,
                 early: [...new Set(early.map((e) => e.stage))],
                 stages: [...new Set(events.map((e) => e.stage))], bytes: download.bytes,
                 start: [...new Set(starting.map((e) => e.stage))], runtime: last("runtime"), model: last("model") };
    }""" % DRAW)
    # Without the WebGPU flags this Chromium has no adapter, so the worker fetches no WebGPU runtime.
    runtime = json.loads((VENDOR / "build.json").read_text())["runtime"]
    runtime_bytes = sum(f["bytes"] for f in runtime if not f.get("webgpu"))
    assert result["start"] == ["runtime", "model"], "createRemover({model}) loads the model while the engine boots"
    assert result["runtime"]["bytes"] == {"done": runtime_bytes, "total": runtime_bytes}
    assert result["runtime"]["fraction"] == 1
    assert result["model"]["bytes"] == {"done": 4_574_861, "total": 4_574_861} and result["model"]["fraction"] == 1
    assert result["error"] == ["RemovalError", "not_an_image"]
    assert result["type"] == "image/png" and result["size"] == [64, 48]
    assert 16 * 2**20 < result["heap"] < 512 * 2**20, "meta.memory.python: the size of Python's wasm heap"
    assert result["early"] == ["decode", "model", "preprocess", "inference", "postprocess", "encode"], "no download"
    assert result["released"] == [["u2netp"], []] and result["afterDispose"] == "disposed"
    assert result["stages"] == ["decode", "model", "download", "preprocess", "inference", "postprocess", "encode"]
    assert result["bytes"] == {"done": 4_574_861, "total": 4_574_861}


def test_the_embed_apis_old_path_still_serves_it(app):
    assert app.page.evaluate("""async () => {
        const [old, current] = await Promise.all([import("./static/remover.js"), import("./static/client/remover.js")]);
        return old.createRemover === current.createRemover && old.RemovalError === current.RemovalError;
    }""")


def test_embedding_api_takes_every_kind_of_input(app):
    # A URL the page's policy lets it fetch: its own origin (connect-src 'self').
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 90)).save(buffer, "PNG")
    app.page.route("**/input.png", lambda route: route.fulfill(body=buffer.getvalue(), content_type="image/png"))
    result = app.page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const remover = createRemover({ model: "u2netp", preset: "fast" });
        %s
        const blob = await canvas.convertToBlob();
        const image = new Image();
        image.src = URL.createObjectURL(blob);
        const element = document.createElement("canvas");
        element.width = 64; element.height = 48;
        element.getContext("2d").drawImage(await createImageBitmap(blob), 0, 0);
        const inputs = {
            blob, arrayBuffer: await blob.arrayBuffer(), typedArray: new Uint8Array(await blob.arrayBuffer()),
            url: new URL("input.png", location.href).href, bitmap: await createImageBitmap(blob), imageData: context.getImageData(0, 0, 64, 48),
            image, canvas: element,
        };
        const sizes = {};
        for (const [name, input] of Object.entries(inputs)) {
            const { meta } = await remover.remove(input);
            sizes[name] = `${meta.width}x${meta.height}`;
        }
        let error;
        try { await remover.remove(42); } catch (e) { error = e.code; }
        const { blob: flat } = await remover.remove(blob, { background: "#1e90ff" });
        remover.dispose();
        return { sizes, error, flat: Array.from(new Uint8Array(await flat.arrayBuffer())) };
    }""" % DRAW)
    app.page.unroute("**/input.png")
    assert set(result["sizes"].values()) == {"64x48"} and len(result["sizes"]) == 8
    assert result["error"] == "bad_input"
    flat = rgba_of(bytes(result["flat"]))
    assert np.all(flat[..., 3] == 255), "on a background colour nothing is transparent"


def test_cancelled_requests_reject_and_the_worker_carries_on(app):
    result = app.page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const remover = createRemover({ model: "u2netp" });
        %s
        const blob = await canvas.convertToBlob();
        const outcome = (promise) => promise.then(() => "done", (e) => `${e.name}:${e.code}`);
        const queued = new AbortController();
        const first = outcome(remover.remove(blob));
        const second = outcome(remover.remove(blob, { signal: queued.signal }));
        const third = outcome(remover.remove(blob));
        queued.abort();
        const inFlight = new AbortController();
        const fourth = outcome(remover.remove(blob, {
            signal: inFlight.signal, onProgress: ({ stage }) => stage === "preprocess" && inFlight.abort() }));
        const already = outcome(remover.remove(blob, { signal: AbortSignal.abort() }));
        const results = await Promise.all([first, second, third, fourth, already, outcome(remover.remove(blob))]);
        remover.dispose();
        return results;
    }""" % DRAW)
    assert result == ["done", "AbortError:aborted", "done", "AbortError:aborted", "AbortError:aborted", "done"]


def test_a_request_cancelled_while_its_model_loads_rejects_and_the_model_loads_for_the_next(app):
    result = app.page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const remover = createRemover();
        %s
        const blob = await canvas.convertToBlob();
        const outcome = (promise) => promise.then(({ meta }) => meta.model, (e) => `${e.name}:${e.code}`);
        const stop = new AbortController();
        const stages = [];
        const loading = outcome(remover.remove(blob, { model: "u2netp", signal: stop.signal, onProgress: ({ stage }) => {
            stages.push(stage);
            if (stage === "download") stop.abort();
        } }));
        const results = [await loading, await outcome(remover.remove(blob, { model: "u2netp" }))];
        remover.dispose();
        return { results, stages: [...new Set(stages)] };
    }""" % DRAW)
    assert result == {"results": ["AbortError:aborted", "u2netp"], "stages": ["decode", "model", "download"]}


REMOVE_WITH_A_NEW_WORKER = """async (model) => {
    const { createRemover } = await import("./static/client/remover.js");
    const remover = createRemover({ model });
    %s
    try {
        const { meta } = await remover.remove(await canvas.convertToBlob());
        return { ok: true, model: meta.model };
    } catch (error) {
        return { ok: false, code: error.code, message: error.message };
    } finally {
        remover.dispose();
    }
}""" % DRAW
# The engine's Cache Storage, by the name its store gives it.
OPEN_CACHE = 'const cache = await caches.open((await import("./static/engine/store.js")).CACHE_NAME);'
CACHED_SIZE = """async (path) => {
    %s
    const hit = await cache.match(new URL(`static/vendor/${path}`, location.href).href);
    return hit ? (await hit.arrayBuffer()).byteLength : null;
}""" % OPEN_CACHE
REPLACE_CACHED = """async ([path, body]) => {
    %s
    const url = new URL(`static/vendor/${path}`, location.href).href;
    if (body === null) await cache.delete(url); else await cache.put(url, new Response(body));
}""" % OPEN_CACHE


def test_runtime_and_models_are_kept_in_cache_storage_and_a_damaged_copy_is_replaced(app):
    assert app.page.evaluate(REMOVE_WITH_A_NEW_WORKER, "u2netp")["ok"]
    manifest = json.loads((VENDOR / "build.json").read_text())
    for file in manifest["runtime"]:
        # A worker without WebGPU (this Chromium has no adapter) never fetches the WebGPU runtime.
        expected = None if file.get("webgpu") else file["bytes"]
        assert app.page.evaluate(CACHED_SIZE, file["path"]) == expected, file["path"]
    assert app.page.evaluate(CACHED_SIZE, "models/u2netp.onnx") == 4_574_861
    for path in ("models/u2netp.onnx", "pyodide/pyodide.asm.wasm", "ort/ort.wasm.min.mjs"):
        app.page.evaluate(REPLACE_CACHED, [path, "garbage"])
    assert app.page.evaluate(REMOVE_WITH_A_NEW_WORKER, "u2netp") == {"ok": True, "model": "u2netp"}
    sizes = {file["path"]: file["bytes"] for file in manifest["runtime"]}
    for path in ("pyodide/pyodide.asm.wasm", "ort/ort.wasm.min.mjs"):
        assert app.page.evaluate(CACHED_SIZE, path) == sizes[path], f"{path} fetched again and verified"
    assert app.page.evaluate(CACHED_SIZE, "models/u2netp.onnx") == 4_574_861


def test_a_start_restores_python_from_the_snapshot_an_earlier_start_kept(app):
    page = app.page
    page.evaluate(SNAPSHOT, "forget")
    booted = page.evaluate(SNAPSHOT, "start and keep")
    assert booted["fromSnapshot"] is False
    assert page.evaluate(SNAPSHOT, "size") > 10_000_000, "the interpreter's whole memory"
    restored = page.evaluate(SNAPSHOT, "start")
    assert restored == {"fromSnapshot": True, "mask": booted["mask"]}
    # A damaged snapshot is dropped: that start boots, and keeps a good one for the next.
    page.evaluate(SNAPSHOT, "damage")
    assert page.evaluate(SNAPSHOT, "start and keep") == {"fromSnapshot": False, "mask": booted["mask"]}
    assert page.evaluate(SNAPSHOT, "start")["fromSnapshot"] is True


def test_a_damaged_model_from_the_server_is_refused(app):
    app.page.evaluate(REPLACE_CACHED, ["models/u2netp.onnx", None])
    app.page.route("**/static/vendor/models/u2netp.onnx", lambda route: route.fulfill(body=b"not a model"))
    try:
        result = app.page.evaluate(REMOVE_WITH_A_NEW_WORKER, "u2netp")
    finally:
        app.page.unroute("**/static/vendor/models/u2netp.onnx")
    assert result["ok"] is False and result["code"] == "model_load_failed"
    assert "checksum" in result["message"] and "u2netp.onnx" in result["message"]
    assert app.page.evaluate(CACHED_SIZE, "models/u2netp.onnx") is None, "nothing damaged is cached"


# Python's runtime is checked by worker.js, onnxruntime-web's by the inference worker it starts.
@pytest.mark.parametrize("path", ["pyodide/python_stdlib.zip", "ort/ort-wasm-simd-threaded.wasm"])
def test_a_damaged_runtime_file_from_the_server_stops_the_start_with_its_name(app, path):
    app.page.evaluate(REPLACE_CACHED, [path, None])
    app.page.route(f"**/static/vendor/{path}", lambda route: route.fulfill(body=b"damaged"))
    try:
        result = app.page.evaluate(REMOVE_WITH_A_NEW_WORKER, "u2netp")
    finally:
        app.page.unroute(f"**/static/vendor/{path}")
    assert result["ok"] is False and result["code"] == "boot_failed", result
    assert f"{path.split('/')[-1]} failed its checksum" in result["message"]
    assert app.page.evaluate(CACHED_SIZE, path) is None


def test_an_inference_worker_that_cannot_start_stops_the_start_with_a_reason(app):
    # On the context: the page's service worker fetches its shell files, this one among them.
    context = app.page.context
    context.route("**/static/engine/inference-worker.js", lambda route: route.fulfill(status=404, body=b""))
    try:
        result = app.page.evaluate(REMOVE_WITH_A_NEW_WORKER, "u2netp")
    finally:
        context.unroute("**/static/engine/inference-worker.js")
    assert result["ok"] is False and result["code"] == "boot_failed", result
    assert "inference worker failed: it failed to start" in result["message"], result
