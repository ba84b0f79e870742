// The background-removal Web Worker (a module worker). Glue only: it boots
// Pyodide and onnxruntime-web, installs the Python package, then hands every
// request to Python (py/bgremove/hosts/browser.py) and posts the answer back.
//
// Protocol (see README.md):
//   in : {id, type: "remove", data: ArrayBuffer (transferred), options}
//        {id, type: "release", model?}
//   out: {type: "ready", info} | {type: "boot-error", error}
//        {id, type: "progress", stage, fraction}
//        {id, type: "result", ok: true, blob, meta} | {id, type: "result", ok: false, error: {code, message}}
import { loadPyodide } from "./static/vendor/pyodide/pyodide.mjs";
import * as ort from "./static/vendor/ort/ort.wasm.min.mjs";

const vendor = new URL("./static/vendor/", import.meta.url).href;
const isolated = self.crossOriginIsolated === true;

ort.env.wasm.wasmPaths = `${vendor}ort/`;
// Threads need SharedArrayBuffer, which only a cross-origin isolated worker has.
ort.env.wasm.numThreads = isolated ? navigator.hardwareConcurrency || 1 : 1;

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
  await micropip.install(`${vendor}wheels/${build.wheel.file}`, { deps: false });
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

self.onmessage = ({ data: request }) => {
  queue = queue.then(() => answer(request));
};

async function answer(request) {
  const { id } = request;
  let reply;
  try {
    const { service } = await booting;
    const progress = (stage, fraction) => postMessage({ id, type: "progress", stage, fraction });
    reply = await service.handle(request, progress);
  } catch (error) {
    const code = error?.name === "PythonError" ? "internal_error" : "boot_failed";
    reply = { ok: false, error: { code, message: String(error?.message ?? error) } };
  }
  postMessage({ id, type: "result", ...reply });
}
