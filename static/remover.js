// The embeddable background remover: one ES module, no build step. Import it from wherever
// our static files are hosted; it starts worker.js beside that folder.
//
//   import { createRemover } from "https://your.host/bg/static/remover.js";
//   const remover = createRemover();                        // assets from this module's own folder
//   const remover = createRemover({ model: "isnet-small", device: "webgpu" }); // device: auto | webgpu | wasm
//   await remover.preload({ onProgress });                  // optional: fetch the model early
//   const { blob, meta } = await remover.remove(file, { output: "foreground", signal });
//   remover.dispose();                                      // worker, sessions and buffers are freed
//
// This module is the one bridge to the worker: messages, transfers, ids, progress and
// cancellation are handled here and nowhere else. The protocol is in README.md.

export class RemovalError extends Error {
  constructor({ code, message }) {
    super(message);
    this.name = code === "aborted" ? "AbortError" : "RemovalError";
    this.code = code;
  }
}

// This module's folder, written so that bundlers leave it alone: they rewrite
// new URL("some/file", import.meta.url) to files of their own output.
const moduleUrl = import.meta.url;
const here = new URL(".", moduleUrl);

const FORMATS = { "image/png": "png", "image/webp": "webp", "image/jpeg": "jpeg" };

export function createRemover({
  assetsUrl = here,
  model,
  device,
  threads,
  preset,
  keepModels = false,
  onProgress: onStartProgress = () => {},
} = {}) {
  const workerUrl = new URL("../worker.js", new URL(assetsUrl, location.href));
  if (threads) workerUrl.searchParams.set("threads", String(threads));
  if (keepModels) workerUrl.searchParams.set("keepModels", "");
  // The worker starts loading this model while its runtime boots, instead of after.
  if (model) workerUrl.searchParams.set("model", model);
  // Which onnxruntime-web the worker starts: with WebGPU (auto: a hardware adapter; webgpu: any), or wasm only.
  if (device) workerUrl.searchParams.set("device", device);
  const worker = startWorker(workerUrl);
  const pending = new Map();
  let nextId = 1;
  let disposed = false;

  const ready = new Promise((resolve, reject) => {
    worker.addEventListener("message", ({ data }) => {
      if (data.type === "ready") resolve(data.info);
      else if (data.type === "boot-error") reject(new RemovalError(data.error));
      else dispatch(data);
    });
    worker.addEventListener("error", (event) =>
      reject(
        new RemovalError({
          code: "boot_failed",
          message:
            `${event.message || "The worker failed to start"} (${workerUrl.href}). assetsUrl must be the folder ` +
            "that holds remover.js and vendor/, with worker.js one level up; another origin must allow CORS.",
        }),
      ),
    );
  });
  ready.catch(() => {}); // a failed boot is reported through every request as well

  function dispatch(data) {
    if (data.id === undefined && data.type === "progress") {
      onStartProgress({ stage: data.stage, fraction: data.fraction, bytes: data.bytes });
      return;
    }
    const call = pending.get(data.id);
    if (!call) return;
    if (data.type === "progress") {
      call.onProgress({ stage: data.stage, fraction: data.fraction, bytes: data.bytes });
      return;
    }
    pending.delete(data.id);
    if (data.ok) call.resolve(data);
    else call.reject(new RemovalError(data.error));
  }

  function request(message, transfer, { onProgress = () => {}, signal } = {}) {
    if (disposed) return Promise.reject(new RemovalError({ code: "disposed", message: "This remover was disposed." }));
    if (signal?.aborted) return Promise.reject(new RemovalError({ code: "aborted", message: "Cancelled." }));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener("abort", () => {
        if (!pending.delete(id)) return;
        worker.postMessage({ id, type: "cancel" });
        reject(new RemovalError({ code: "aborted", message: "Cancelled." }));
      });
      worker.postMessage({ id, ...message }, transfer);
    });
  }

  return {
    // Resolves to what the engine reports about itself (versions, threads, start-up timings).
    ready,

    // Downloads and prepares a model (this remover's by default) on a device, so remove() does not
    // wait for it. Resolves to the device it is ready on (wasm when WebGPU is missing or failed).
    preload({ model: name = model, device: on = device, onProgress, signal } = {}) {
      return request({ type: "preload", model: name, device: on }, [], { onProgress, signal }).then((r) => r.device);
    },

    // input: File, Blob, ArrayBuffer, typed array, URL string, ImageBitmap, ImageData,
    // HTMLImageElement or HTMLCanvasElement. Resolves to { blob, meta }.
    async remove(input, { onProgress, signal, format = "image/png", ...options } = {}) {
      const payload = await toPayload(input);
      const settings = { model, device, preset, ...options, format: FORMATS[format] ?? format };
      const transfer = [payload.data ?? payload.bitmap ?? payload.pixels.data];
      const { blob, meta } = await request({ type: "remove", options: settings, ...payload }, transfer, {
        onProgress,
        signal,
      });
      return { blob, meta };
    },

    // Frees one model's sessions (every model's with no argument; only one device's with
    // release(name, device)); resolves to the models freed.
    release(name, on) {
      return request({ type: "release", model: name, device: on }, []).then(({ released }) => released);
    },

    // Ends the worker: every session and buffer goes with it. Pending calls reject.
    dispose() {
      disposed = true;
      worker.terminate();
      for (const { reject } of pending.values()) {
        reject(new RemovalError({ code: "disposed", message: "This remover was disposed." }));
      }
      pending.clear();
    },
  };
}

// Browsers only start workers from the page's own origin: for assets hosted elsewhere, a tiny
// same-origin module worker imports ours (the asset host must allow CORS, as build.py serve does).
function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: "module" });
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(shim), { type: "module" });
}

// What the worker is sent: encoded bytes, an ImageBitmap, or raw RGBA pixels; never a copy it does not need.
async function toPayload(input) {
  if (typeof input === "string" || input instanceof URL) {
    const response = await fetch(input);
    if (!response.ok) throw new RemovalError({ code: "fetch_failed", message: `Could not fetch ${input}: HTTP ${response.status}.` });
    return { data: await response.arrayBuffer() };
  }
  if (input instanceof Blob) return { data: await input.arrayBuffer() };
  if (input instanceof ArrayBuffer) return { data: input.slice(0) };
  if (ArrayBuffer.isView(input)) return { data: input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) };
  if (typeof ImageData !== "undefined" && input instanceof ImageData) {
    return { pixels: { width: input.width, height: input.height, data: input.data.slice().buffer } };
  }
  if (typeof ImageBitmap !== "undefined" && input instanceof ImageBitmap) {
    return { bitmap: await createImageBitmap(input) };
  }
  if (typeof HTMLImageElement !== "undefined" && input instanceof HTMLImageElement) {
    await input.decode();
    return { bitmap: await createImageBitmap(input) };
  }
  if (typeof HTMLCanvasElement !== "undefined" && input instanceof HTMLCanvasElement) {
    return { bitmap: await createImageBitmap(input) };
  }
  throw new RemovalError({
    code: "bad_input",
    message: "Pass a File, Blob, ArrayBuffer, typed array, URL, ImageBitmap, ImageData, <img> or <canvas>.",
  });
}
