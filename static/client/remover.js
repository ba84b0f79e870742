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
  let started = false;
  let settleReady;
  const ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
  ready.catch(() => {}); // a failed boot is reported through every request as well

  const link = connect(worker, {
    onEvent({ type, info, error, ...progress }) {
      if (type === "ready") {
        started = true;
        settleReady.resolve(info);
      } else if (type === "boot-error") {
        settleReady.reject(new RemovalError(error));
      } else if (type === "progress") {
        onStartProgress(progress);
      }
    },
    onFailure(event) {
      const failure = started
        ? new RemovalError({ code: "internal_error", message: `The worker failed: ${event.message ?? "it stopped"}.` })
        : new RemovalError({
            code: "boot_failed",
            message:
              `${event.message || "The worker failed to start"} (${workerUrl.href}). assetsUrl must be the static/ ` +
              "folder that holds client/ and vendor/, with worker.js one level up; another origin must allow CORS.",
          });
      settleReady.reject(failure);
      return failure;
    },
  });

  return {
    // Resolves to what the engine reports about itself (versions, threads, start-up timings).
    ready,

    // Downloads and prepares a model (this remover's by default) on a device, so remove() does not
    // wait for it. Resolves to the device it is ready on (wasm when WebGPU is missing or failed).
    preload({ model: name = model, device: on = device, onProgress, signal } = {}) {
      return link.call("preload", { model: name, device: on }, { onProgress, signal }).then((r) => r.device);
    },

    // input: File, Blob, ArrayBuffer, typed array, URL string, ImageBitmap, ImageData,
    // HTMLImageElement or HTMLCanvasElement. Resolves to { blob, meta }.
    async remove(input, { onProgress, signal, ...options } = {}) {
      const payload = await toPayload(input);
      const settings = { model, device, preset, ...options };
      const transfer = [payload.data ?? payload.bitmap ?? payload.pixels.data];
      const { blob, meta } = await link.call("remove", { options: settings, ...payload }, { transfer, onProgress, signal });
      return { blob, meta };
    },

    // Frees one model's sessions (every model's with no argument; only one device's with
    // release(name, device)); resolves to the models freed.
    release(name, on) {
      return link.call("release", { model: name, device: on }).then(({ released }) => released);
    },

    // Ends the worker: every session and buffer goes with it. Pending calls reject.
    dispose() {
      worker.terminate();
      link.fail(new RemovalError({ code: "disposed", message: "This remover was disposed." }));
    },
  };
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
