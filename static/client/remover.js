// The embeddable background remover, on the embedding page's thread: one ES module (with
// ../shared/rpc.js), no build step. Import it from wherever our static files are hosted; it starts
// worker.js beside that folder.
//
//   import { createRemover } from "https://your.host/bg/static/client/remover.js";
//   const remover = createRemover();                        // assets: the static/ folder it came from
//   const remover = createRemover({ model: "isnet-small", device: "webgpu" }); // device: auto | webgpu | wasm
//   await remover.preload({ onProgress });                  // optional: fetch the model early
//   const { blob, meta } = await remover.remove(file, { output: "foreground", signal });
//   remover.dispose();                                      // worker, sessions and buffers are freed
//
// The protocol is in README.md; shared/rpc.js carries it.
import { RemovalError, connect, startWorker } from "../shared/rpc.js";

export { RemovalError };

// The static/ folder, written so that bundlers leave it alone: they rewrite
// new URL("some/file", import.meta.url) to files of their own output.
const moduleUrl = import.meta.url;
const here = new URL("..", moduleUrl);

const SETTINGS = ["assetsUrl", "model", "device", "threads", "preset", "keepModels", "onProgress"];
const badOption = (message) => new RemovalError({ code: "bad_option", message });

export function createRemover(settings = {}) {
  const unknown = Object.keys(settings).filter((name) => !SETTINGS.includes(name));
  if (unknown.length) throw badOption(`Unknown createRemover option "${unknown[0]}"; known: ${SETTINGS.join(", ")}.`);
  const { assetsUrl = here, model, device, threads, preset, keepModels = false } = settings;
  const onStartProgress = settings.onProgress ?? (() => {});
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) {
    throw badOption(`threads must be a whole number above 0, not ${JSON.stringify(threads)}.`);
  }
  let workerUrl;
  try {
    workerUrl = new URL("../worker.js", new URL(assetsUrl, location.href));
  } catch {
    throw badOption(`assetsUrl ${JSON.stringify(String(assetsUrl))} is not a URL.`);
  }
  if (threads) workerUrl.searchParams.set("threads", String(threads));
  if (keepModels) workerUrl.searchParams.set("keepModels", "");
  // The worker starts loading this model while its runtime boots, instead of after.
  if (model) workerUrl.searchParams.set("model", model);
  // Which onnxruntime-web the worker starts: with WebGPU (auto: a hardware adapter; webgpu: any), or wasm only.
  if (device) workerUrl.searchParams.set("device", device);
  // Checked by the engine at its start, so that a wrong one rejects `ready`, not the first call.
  if (preset) workerUrl.searchParams.set("preset", preset);

  // The engine: replaced by a new one at the next call once it has died or failed to start (its files
  // then come from Cache Storage, so a restart takes seconds).
  let engine = startEngine(workerUrl, onStartProgress);
  let disposed = null;
  const current = () => {
    if (disposed) throw disposed;
    if (engine.failed) engine = startEngine(workerUrl, onStartProgress);
    return engine;
  };
  // Calls reach the engine in the order they were made, although preparing one (reading a file,
  // fetching a URL) may take longer than the next: each is sent once those before it are.
  // prepared: {fields, transfer}, or the promise of it.
  let sent = Promise.resolve();
  const send = (type, prepared, options = {}) => {
    const posted = sent
      .then(() => prepared)
      .then(({ fields, transfer = [] }) => ({ reply: current().link.call(type, fields, { ...options, transfer }) }));
    sent = posted.then(() => {}, () => {});
    return posted.then(({ reply }) => reply);
  };

  return {
    // Resolves to what the engine reports about itself (versions, threads, start-up timings); rejects
    // with bad_option for a setting this build does not know, or with why the engine cannot start.
    get ready() {
      return engine.ready;
    },

    // Downloads and prepares a model (this remover's by default) on a device, so remove() does not
    // wait for it. Resolves to the device it is ready on (wasm when WebGPU is missing or failed).
    preload({ model: name = model, device: on = device, onProgress, signal } = {}) {
      return send("preload", { fields: { model: name, device: on } }, { onProgress, signal }).then((r) => r.device);
    },

    // input: File, Blob, ArrayBuffer, typed array, URL string, ImageBitmap, ImageData,
    // HTMLImageElement, HTMLCanvasElement or OffscreenCanvas. Resolves to { blob, meta, mask }.
    // background: "#rrggbb", "blur" (the photo itself, blurred) or an image (File, Blob, ArrayBuffer,
    // typed array) to put the cut-out on, scaled to cover. mask: an earlier result's, for the same
    // input: the model does not run again where the options would make the same mask (meta.reused).
    remove(input, { onProgress, signal, background, mask, ...options } = {}) {
      const image = background != null && typeof background !== "string";
      const prepared = Promise.all([toPayload(input), image ? backdropOf(background) : undefined]).then(
        ([payload, backdrop]) => ({
          fields: {
            options: { model, device, preset, ...options, background: image ? "image" : background },
            ...payload,
            ...(backdrop && { backdrop }),
            ...(mask && { mask }),
          },
          transfer: [payload.data ?? payload.bitmap ?? payload.pixels.data, ...(backdrop ? [backdrop] : [])],
        }),
      );
      return send("remove", prepared, { onProgress, signal }).then(({ blob, meta, mask }) => ({ blob, meta, mask }));
    },

    // Frees one model's sessions (every model's with no argument; only one device's with
    // release(name, device)); resolves to the models freed.
    release(name, on) {
      return send("release", { fields: { model: name, device: on } }).then(({ released }) => released);
    },

    // Ends the worker: every session and buffer goes with it. Pending calls reject.
    dispose() {
      disposed ??= new RemovalError({ code: "disposed", message: "This remover was disposed." });
      engine.worker.terminate();
      engine.link.fail(disposed);
    },
  };
}

// One engine worker and the link to it; `failed` once it is of no more use.
function startEngine(workerUrl, onStartProgress) {
  const worker = startWorker(workerUrl);
  const engine = { worker, failed: false };
  let started = false;
  let settleReady;
  engine.ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
  engine.ready.catch(() => {}); // a failed start is reported through every call as well
  const retire = (error) => {
    engine.failed = true;
    settleReady.reject(error);
    return error;
  };
  const lost = (error) => {
    worker.terminate();
    return retire(error);
  };
  engine.link = connect(worker, {
    onEvent({ type, info, error, ...progress }) {
      if (type === "ready") {
        started = true;
        settleReady.resolve(info);
      } else if (type === "boot-error") {
        retire(new RemovalError(error)); // the calls already sent hear it from the engine itself
      } else if (type === "lost") {
        engine.link.fail(lost(new RemovalError(error)));
      } else if (type === "progress") {
        onStartProgress(progress);
      }
    },
    onFailure({ message, lost: ended }) {
      if (ended || started) {
        return lost(new RemovalError({
          code: "worker_lost",
          message: `The engine's worker ${ended ? "stopped (the browser ended it, perhaps for memory)" : `failed: ${message}`}; ` +
            "the next call starts it again.",
        }));
      }
      return lost(new RemovalError({
        code: "boot_failed",
        message:
          `${message} (${workerUrl.href}). assetsUrl must be the static/ ` +
          "folder that holds client/ and vendor/, with worker.js one level up; another origin must allow CORS.",
      }));
    },
  });
  return engine;
}

// What the worker is sent: encoded bytes, an ImageBitmap, or raw RGBA pixels; never a copy it does not need.
// Whatever goes wrong on the way is a coded error: a file that can no longer be read (deleted since
// it was picked) is bad_input, like an input of the wrong kind.
function toPayload(input) {
  return payloadOf(input).catch((error) => {
    throw error instanceof RemovalError ? error : new RemovalError({ code: "bad_input", message: `The input cannot be read: ${error.message}` });
  });
}

async function payloadOf(input) {
  if (typeof input === "string" || input instanceof URL) return { data: await download(input) };
  if (input instanceof Blob) return { data: await input.arrayBuffer() };
  if (input instanceof ArrayBuffer) return { data: input.slice(0) };
  if (ArrayBuffer.isView(input)) return { data: input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) };
  if (typeof ImageData !== "undefined" && input instanceof ImageData) {
    return { pixels: { width: input.width, height: input.height, data: input.data.slice().buffer } };
  }
  if (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement) {
    try {
      await input.decode();
    } catch {
      throw new RemovalError({
        code: "corrupt_image",
        message: `The <img> could not be decoded (${input.currentSrc || input.src || "no src"}): it is broken or not loaded.`,
      });
    }
  }
  const drawable = ["ImageBitmap", "HTMLImageElement", "HTMLCanvasElement", "OffscreenCanvas"].find(
    (kind) => typeof globalThis[kind] !== "undefined" && input instanceof globalThis[kind],
  );
  if (drawable) {
    // A canvas of no size, a closed ImageBitmap or an <img> without pixels: createImageBitmap's
    // DOMException would not say which.
    const [width, height] = drawable === "HTMLImageElement" ? [input.naturalWidth, input.naturalHeight] : [input.width, input.height];
    if (!width || !height) {
      throw new RemovalError({
        code: "empty_input",
        message: `The ${drawable} has no pixels (${width}×${height})${drawable === "ImageBitmap" ? "; is it closed?" : "."}`,
      });
    }
    return { bitmap: await createImageBitmap(input) };
  }
  throw new RemovalError({
    code: "bad_input",
    message: "Pass a File, Blob, ArrayBuffer, typed array, URL, ImageBitmap, ImageData, <img>, <canvas> or OffscreenCanvas.",
  });
}

// A background image's bytes, as the engine decodes them (its own copy: the caller keeps theirs).
async function backdropOf(image) {
  if (image instanceof Blob) return image.arrayBuffer();
  if (image instanceof ArrayBuffer) return image.slice(0);
  if (ArrayBuffer.isView(image)) return image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength);
  throw new RemovalError({
    code: "bad_option",
    message: 'background must be "#rrggbb", "blur" or an image (File, Blob, ArrayBuffer or typed array).',
  });
}

async function download(url) {
  let response;
  try {
    response = await fetch(url);
    if (response.ok) return await response.arrayBuffer();
  } catch (error) {
    throw new RemovalError({
      code: "fetch_failed",
      message: `Could not fetch ${url}: ${error.message} (offline, a wrong address, or another origin that does not allow CORS).`,
    });
  }
  throw new RemovalError({ code: "fetch_failed", message: `Could not fetch ${url}: HTTP ${response.status}.` });
}
