// The background-removal Web Worker (a module worker). Glue only: it boots
// Pyodide and onnxruntime-web, installs the Python package, then hands every
// request to Python (py/bgremove/hosts/browser.py) and posts the answer back.
//
// Protocol (see README.md):
//   in : {id, type: "remove", options, data: ArrayBuffer | bitmap: ImageBitmap | pixels: {width, height, data}}
//        (buffers and bitmaps transferred), {id, type: "preload", model?}, {id, type: "release", model?},
//        {id, type: "cancel"} (for an earlier id)
//   out: {type: "ready", info} | {type: "boot-error", error}
//        {id, type: "progress", stage, fraction, bytes?: {done, total}}
//        {id, type: "result", ok: true, ...} | {id, type: "result", ok: false, error: {code, message}}
// The worker's own URL may carry ?threads=N to use fewer threads than the machine has.
import { loadPyodide } from "./static/vendor/pyodide/pyodide.mjs";
import * as ort from "./static/vendor/ort/ort.wasm.min.mjs";

const vendor = new URL("./static/vendor/", import.meta.url).href;
const isolated = self.crossOriginIsolated === true;

ort.env.wasm.wasmPaths = `${vendor}ort/`;
// Threads need SharedArrayBuffer, which only a cross-origin isolated worker has.
const wanted = Number(new URL(import.meta.url).searchParams.get("threads")) || navigator.hardwareConcurrency || 1;
ort.env.wasm.numThreads = isolated ? wanted : 1;
if (!isolated) {
  console.info(
    "background remover: running on 1 thread. Serve the page with Cross-Origin-Opener-Policy: same-origin " +
      "and Cross-Origin-Embedder-Policy: require-corp to use every core.",
  );
}

async function boot() {
  const timings = {};
  const since = (t0) => Math.round(performance.now() - t0) / 1000;
  let t0 = performance.now();
  const [pyodide, build] = await Promise.all([
    loadPyodide({ indexURL: `${vendor}pyodide/` }),
    fetch(`${vendor}build.json`).then((r) => r.json()),
  ]);
  timings.pyodide = since(t0);
  t0 = performance.now();
  await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });
  timings.packages = since(t0);
  t0 = performance.now();
  const micropip = pyodide.pyimport("micropip");
  // Its dependencies (numpy, Pillow) are loaded above; nothing may be looked up on the network.
  await micropip.install.callKwargs(`${vendor}wheels/${build.wheel.file}`, { deps: false });
  const browser = pyodide.pyimport("bgremove.hosts.browser");
  const checksums = Object.fromEntries(build.models.map((m) => [m.file, m.sha256]));
  const service = browser.Service(ort, `${vendor}models/`, checksums);
  timings.wheel = since(t0);
  return {
    service,
    info: {
      timings,
      crossOriginIsolated: isolated,
      threads: ort.env.wasm.numThreads,
      versions: { pyodide: pyodide.version, onnxruntime: build.onnxruntime_web.version, wheel: build.wheel.file },
      models: build.models,
    },
  };
}

const booting = boot();
booting.then(
  ({ info }) => postMessage({ type: "ready", info }),
  (error) => postMessage({ type: "boot-error", error: { code: "boot_failed", message: String(error?.message ?? error) } }),
);

// One request at a time: a batch shares the worker's memory and the model session.
let queue = Promise.resolve();
const cancelled = new Set();

self.onmessage = ({ data: request }) => {
  if (request.type === "cancel") {
    cancelled.add(request.id);
    return;
  }
  queue = queue.then(() => answer(request));
};

const ABORTED = { code: "aborted", message: "The request was cancelled." };

async function answer(request) {
  const { id } = request;
  let reply;
  try {
    if (cancelled.has(id)) {
      reply = { ok: false, error: ABORTED };
    } else {
      const { service } = await booting;
      // Python checks for cancellation at every stage, through this callback.
      const progress = (stage, fraction, done, total) => {
        if (cancelled.has(id)) throw new DOMException(ABORTED.message, "AbortError");
        const bytes = done === undefined ? undefined : { done, total };
        postMessage({ id, type: "progress", stage, fraction, bytes });
      };
      reply = await service.handle(request, progress);
    }
  } catch (error) {
    const code = error?.name === "PythonError" ? "internal_error" : "boot_failed";
    reply = { ok: false, error: { code, message: String(error?.message ?? error) } };
  } finally {
    cancelled.delete(id);
    request.bitmap?.close();
  }
  postMessage({ id, type: "result", ...reply });
}
