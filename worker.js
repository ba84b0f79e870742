// The background-removal Web Worker (a module worker). Glue only: it boots
// Pyodide and onnxruntime-web, installs the Python package, then hands every
// request to Python (py/bgremove/hosts/browser.py) and posts the answer back.
//
// Protocol (see README.md):
//   in : {id, type: "remove", options, data: ArrayBuffer | bitmap: ImageBitmap | pixels: {width, height, data}}
//        (buffers and bitmaps transferred), {id, type: "preload", model?}, {id, type: "release", model?},
//        {id, type: "cancel"} (for an earlier id)
//   out: {type: "progress", stage: "runtime" | "model", fraction, bytes} (start-up) | {type: "ready", info} | {type: "boot-error", error}
//        {id, type: "progress", stage, fraction, bytes?: {done, total}}
//        {id, type: "result", ok: true, ...} | {id, type: "result", ok: false, error: {code, message}}
// The worker's own URL may carry ?threads=N (fewer threads than the machine has),
// ?keepModels (loading a model does not release the previous one), ?model=ID (the model
// to download and prepare while the Python runtime boots, rather than on the first request)
// and ?device=auto|wasm|webgpu (which runtime to start; requests may still ask for wasm).
import { openStore } from "./static/cache.js";

const vendor = new URL("./static/vendor/", import.meta.url).href;
const modelsUrl = `${vendor}models/`;
const isolated = self.crossOriginIsolated === true;
const settings = new URL(import.meta.url).searchParams;
const device = settings.get("device") ?? "auto";
// Threads need SharedArrayBuffer, which only a cross-origin isolated worker has.
const wanted = Number(settings.get("threads")) || navigator.hardwareConcurrency || 1;
if (!isolated) {
  console.info(
    "background remover: running on 1 thread. Serve the page with Cross-Origin-Opener-Policy: same-origin " +
      "and Cross-Origin-Embedder-Policy: require-corp to use every core.",
  );
}

// What WebGPU offers here, and whether this worker will use it. "auto" passes over a software
// adapter (SwiftShader and the like), which runs these models far slower than wasm; "webgpu" takes it.
async function probeWebGpu() {
  if (!["auto", "wasm", "webgpu"].includes(device)) {
    throw new Error(`Unknown device "${device}": use auto, wasm or webgpu.`);
  }
  if (device === "wasm") return { use: false, reason: "the remover was started with device wasm" };
  if (!navigator.gpu) return { use: false, reason: "this browser has no WebGPU" };
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return { use: false, reason: "WebGPU found no usable GPU adapter" };
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown";
  const software = Boolean(info.isFallbackAdapter) || /swiftshader|llvmpipe|software/i.test(name);
  const gpu = { adapter: name, software, features: [...adapter.features] };
  if (software && device === "auto") {
    return { ...gpu, use: false, reason: `the only WebGPU adapter is a software renderer (${name}), slower than wasm` };
  }
  return { ...gpu, use: true, reason: null };
}

// Everything after this file comes through the verified store (Cache Storage, checked against
// the build manifest's sha256). Pyodide fetches its own files, so for the manifest's URLs, and
// only those, this worker's fetch() answers from the store too.
async function verifiedRuntime(probing) {
  const plainFetch = self.fetch.bind(self);
  const store = await openStore(plainFetch);
  const [build, gpu] = await Promise.all([store.loadFresh(`${vendor}build.json`), probing]);
  const checksums = new Map(build.runtime.map((file) => [new URL(file.path, vendor).href, file.sha256]));
  // Every file this worker needs is fetched at once, in parallel, and handed over once when its user
  // asks for it (the WebGPU runtime only if it will be used). Waiting for all of them first also
  // means a damaged file fails the start with its own name.
  const needed = build.runtime.filter((file) => gpu.use || !file.webgpu);
  const total = needed.reduce((sum, file) => sum + file.bytes, 0);
  const received = new Map();
  const onBytes = (url) => (done) => {
    received.set(url, done);
    const sum = [...received.values()].reduce((a, b) => a + b, 0);
    postMessage({ type: "progress", stage: "runtime", fraction: Math.min(sum / total, 1), bytes: { done: sum, total } });
  };
  const urls = needed.map((file) => new URL(file.path, vendor).href);
  const early = new Map(urls.map((url) => [url, store.load(url, checksums.get(url), onBytes(url))]));
  await Promise.all(early.values());
  const load = (url) => {
    const loaded = early.get(url) ?? store.load(url, checksums.get(url));
    early.delete(url);
    return loaded;
  };
  self.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!checksums.has(url)) return plainFetch(input, init);
    const { bytes, type } = await load(url);
    return new Response(bytes, { headers: { "content-type": type } });
  };
  // A checked script, as a blob URL that modules can be imported (and ORT's threads started) from.
  const scriptUrl = async (path) => {
    const { bytes } = await load(new URL(path, vendor).href);
    return URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
  };
  return { store, build, gpu, load, scriptUrl };
}

// onnxruntime-web's wasm-only build, or its JSEP build (the wasm and WebGPU execution providers).
async function startOrt({ load, scriptUrl }, gpu) {
  const [script, runtime] = gpu.use
    ? ["ort.min.mjs", "ort-wasm-simd-threaded.jsep"]
    : ["ort.wasm.min.mjs", "ort-wasm-simd-threaded"];
  const [ort, mjs, wasm] = await Promise.all([
    scriptUrl(`ort/${script}`).then((url) => import(url)),
    scriptUrl(`ort/${runtime}.mjs`),
    load(`${vendor}ort/${runtime}.wasm`),
  ]);
  ort.env.wasm.wasmPaths = { mjs };
  ort.env.wasm.wasmBinary = wasm.bytes;
  ort.env.wasm.numThreads = isolated ? wanted : 1;
  return ort;
}

// On wasm, options that bound the heap (which never shrinks): no NCHWc layout ("all"), no weight
// prepacking, and parallel mode, which plans no memory pattern. IS-Net medium, bare page: 845 -> 520 MB,
// the same output to the bit and the same speed within noise (docs/bench.md).
const WASM_OPTIONS = {
  graphOptimizationLevel: "extended",
  executionMode: "parallel",
  extra: { session: { disable_prepacking: "1" } },
};

// Every model session is created here, the early one and those Python asks for.
function newSession(ort, bytes, on) {
  const options = on === "wasm" ? WASM_OPTIONS : { graphOptimizationLevel: "all" };
  return ort.InferenceSession.create(bytes, { executionProviders: [on], ...options });
}

// The file each model runs from on each device: on WebGPU, its variant (build.py), unless the
// adapter has the feature that makes the variant needless.
function modelFiles({ models }, gpu) {
  const pick = ({ file, sha256 }) => ({ file, sha256 });
  const onGpu = (m) => (m.webgpu && !(gpu.features ?? []).includes(m.webgpu.unless_feature) ? m.webgpu : m);
  return Object.fromEntries(models.map((m) => [m.id, { wasm: pick(m), webgpu: pick(onGpu(m)) }]));
}

// The ?model= session, started as soon as onnxruntime-web is up: its download, check and
// graph preparation overlap Pyodide's boot. Python adopts it (Service's early argument).
function earlySession(ort, store, files, gpu) {
  const model = settings.get("model");
  if (!(model in files)) return null;
  const on = gpu.use ? "webgpu" : "wasm";
  const { file, sha256 } = files[model][on];
  const onBytes = (done, total) => {
    const fraction = total ? Math.min(done / total, 1) : 0;
    postMessage({ type: "progress", stage: "model", fraction, bytes: { done, total } });
  };
  const loading = store.load(modelsUrl + file, sha256, onBytes).then(({ bytes }) => newSession(ort, bytes, on));
  loading.catch(() => {}); // a failure is reported to the first request for this model
  return { model, device: on, loading };
}

async function startPyodide({ scriptUrl }) {
  // pyodide.asm.js defines globalThis._createPyodideModule, which loadPyodide then uses as is.
  const [{ loadPyodide }] = await Promise.all([
    scriptUrl("pyodide/pyodide.mjs").then((url) => import(url)),
    scriptUrl("pyodide/pyodide.asm.js").then((url) => import(url)),
  ]);
  return loadPyodide({ indexURL: `${vendor}pyodide/` });
}

async function boot() {
  const timings = {};
  const since = (t0) => Math.round(performance.now() - t0) / 1000;
  let t0 = performance.now();
  const runtime = await verifiedRuntime(probeWebGpu());
  const { build, store, gpu } = runtime;
  const files = modelFiles(build, gpu);
  const ortReady = startOrt(runtime, gpu);
  const early = ortReady.then((ort) => earlySession(ort, store, files, gpu));
  const [pyodide, ort] = await Promise.all([startPyodide(runtime), ortReady]);
  timings.pyodide = since(t0);
  t0 = performance.now();
  await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });
  timings.packages = since(t0);
  t0 = performance.now();
  const micropip = pyodide.pyimport("micropip");
  // Its dependencies (numpy, Pillow) are loaded above; nothing may be looked up on the network.
  await micropip.install.callKwargs(`${vendor}wheels/${build.wheel.file}`, { deps: false });
  const browser = pyodide.pyimport("bgremove.hosts.browser");
  const service = browser.Service(ort, store, modelsUrl, files, settings.has("keepModels"), gpu,
                                  (bytes, on) => newSession(ort, bytes, on), await early);
  timings.wheel = since(t0);
  return {
    service,
    // Python's WebAssembly memory, which only grows: the browser's measureUserAgentSpecificMemory
    // leaves memories that are not shared (this one) out of its report. Pyodide keeps it in _module.
    pythonHeap: () => pyodide._module.HEAPU8.byteLength,
    info: {
      timings,
      crossOriginIsolated: isolated,
      threads: ort.env.wasm.numThreads,
      webgpu: gpu,
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
      const { service, pythonHeap } = await booting;
      // Python checks for cancellation at every stage, through this callback.
      const progress = (stage, fraction, done, total) => {
        if (cancelled.has(id)) throw new DOMException(ABORTED.message, "AbortError");
        const bytes = done === undefined ? undefined : { done, total };
        postMessage({ id, type: "progress", stage, fraction, bytes });
      };
      reply = await service.handle(request, progress);
      if (reply.meta) reply.meta.memory = { python: pythonHeap() };
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
