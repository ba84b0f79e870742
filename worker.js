// The background-removal Web Worker (a module worker). Glue only: it boots
// Pyodide, starts onnxruntime-web in a worker of its own (static/inference-worker.js),
// installs the Python package, then hands every request to Python
// (py/bgremove/hosts/browser.py) and posts the answer back.
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
// only those, this worker's fetch() answers from the store too. onnxruntime-web's files (ort/)
// and the start-up model are the inference worker's, which fetches and checks them itself.
async function verifiedRuntime(probing) {
  const plainFetch = self.fetch.bind(self);
  const store = await openStore(plainFetch);
  const [build, gpu] = await Promise.all([store.loadFresh(`${vendor}build.json`), probing]);
  const files = modelFiles(build, gpu);
  const href = (file) => new URL(file.path, vendor).href;
  // Every file is fetched at once, in parallel, and handed over once when its user asks for it (the
  // WebGPU runtime only if it will be used). Waiting for all of them first also means a damaged
  // file fails the start with its own name.
  const needed = build.runtime.filter((file) => gpu.use || !file.webgpu);
  const total = needed.reduce((sum, file) => sum + file.bytes, 0);
  const received = new Map();
  const onBytes = (url) => (done) => {
    received.set(url, done);
    const sum = [...received.values()].reduce((a, b) => a + b, 0);
    postMessage({ type: "progress", stage: "runtime", fraction: Math.min(sum / total, 1), bytes: { done: sum, total } });
  };
  const ortFiles = needed.filter((file) => file.path.startsWith("ort/"));
  const inference = startInference(
    { runtime: ortFiles.map((file) => ({ url: href(file), sha256: file.sha256 })), webgpu: gpu.use, threads: wanted },
    earlyModel(files, gpu),
    onBytes,
  );
  const own = needed.filter((file) => !ortFiles.includes(file));
  const checksums = new Map(own.map((file) => [href(file), file.sha256]));
  const early = new Map(own.map((file) => [href(file), store.load(href(file), file.sha256, onBytes(href(file)))]));
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
  // A checked script, as a blob URL that modules can be imported from.
  const scriptUrl = async (path) => {
    const { bytes } = await load(new URL(path, vendor).href);
    return URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
  };
  return { store, build, gpu, files, inference, scriptUrl };
}

// The file each model runs from on each device: on WebGPU, its variant (build.py), unless the
// adapter has the feature that makes the variant needless.
function modelFiles({ models }, gpu) {
  const pick = ({ file, sha256 }) => ({ file, sha256 });
  const onGpu = (m) => (m.webgpu && !(gpu.features ?? []).includes(m.webgpu.unless_feature) ? m.webgpu : m);
  return Object.fromEntries(models.map((m) => [m.id, { wasm: pick(m), webgpu: pick(onGpu(m)) }]));
}

// The ?model= session, prepared by the inference worker while Pyodide boots. Python adopts it
// (Service's early argument).
function earlyModel(files, gpu) {
  const model = settings.get("model");
  if (!(model in files)) return null;
  const on = gpu.use ? "webgpu" : "wasm";
  const { file, sha256 } = files[model][on];
  return { model, device: on, url: modelsUrl + file, sha256 };
}

// onnxruntime-web in a worker of its own (static/inference-worker.js): sessions behind a few calls.
function startInference(start, early, onBytes) {
  const url = new URL("./static/inference-worker.js", import.meta.url);
  // Workers start only from this worker's own origin; for assets hosted elsewhere, a one-line module imports it.
  const source = url.origin === new URL(self.location.href).origin
    ? url
    : URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" }));
  const worker = new Worker(source, { type: "module" });
  const pending = new Map();
  let nextId = 1;
  let failed = null; // once the worker has died, every call says why instead of waiting forever
  const reply = (id) =>
    new Promise((resolve, reject) => (failed ? reject(failed) : pending.set(id, { resolve, reject })));
  const call = (message, transfer = []) => {
    const id = nextId++;
    const answered = reply(id);
    if (!failed) worker.postMessage({ id, ...message }, transfer);
    return answered;
  };
  worker.onmessage = ({ data }) => {
    if (data.type === "bytes") {
      if (data.url === early?.url) {
        const fraction = data.total ? Math.min(data.done / data.total, 1) : 0;
        postMessage({ type: "progress", stage: "model", fraction, bytes: { done: data.done, total: data.total } });
      } else {
        onBytes(data.url)(data.done);
      }
      return;
    }
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) resolve(data);
    else reject(new Error(data.message));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    failed = new Error(`The inference worker failed: ${event.message ?? `could not start ${url.href}`}`);
    for (const { reject } of pending.values()) reject(failed);
    pending.clear();
  };
  const session = ({ session: id, inputNames, outputNames }) => ({
    inputNames,
    outputNames,
    // feeds: {name: {type, data, dims}}, the data's buffers handed over; resolves to the fetches, likewise.
    run: (feeds, fetches) => {
      const buffers = Object.values(feeds).map((tensor) => tensor.data.buffer);
      return call({ type: "run", session: id, feeds, fetches }, buffers).then(({ outputs }) => outputs);
    },
    release: () => call({ type: "release", session: id }),
  });
  const started = reply("start");
  started.catch(() => {}); // boot() reports a failure, once Python's files are in
  const earlySession = early ? reply("early").then(session) : null;
  earlySession?.catch(() => {}); // a failure is reported to the first request for this model
  worker.postMessage({ type: "start", ...start, early });
  return {
    started,
    early: early && { model: early.model, device: early.device, loading: earlySession },
    newSession: (bytes, device) => call({ type: "create", bytes, device }, [bytes.buffer]).then(session),
  };
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
  const { build, store, gpu, files, inference } = runtime;
  const [pyodide, { threads }] = await Promise.all([startPyodide(runtime), inference.started]);
  timings.pyodide = since(t0);
  t0 = performance.now();
  await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });
  timings.packages = since(t0);
  t0 = performance.now();
  const micropip = pyodide.pyimport("micropip");
  // Its dependencies (numpy, Pillow) are loaded above; nothing may be looked up on the network.
  await micropip.install.callKwargs(`${vendor}wheels/${build.wheel.file}`, { deps: false });
  const browser = pyodide.pyimport("bgremove.hosts.browser");
  const service = browser.Service(store, modelsUrl, files, settings.has("keepModels"), gpu, inference.newSession,
                                  inference.early);
  timings.wheel = since(t0);
  return {
    service,
    // Python's WebAssembly memory, which only grows: the browser's measureUserAgentSpecificMemory
    // leaves memories that are not shared (this one) out of its report. Pyodide keeps it in _module.
    pythonHeap: () => pyodide._module.HEAPU8.byteLength,
    info: {
      timings,
      crossOriginIsolated: isolated,
      threads,
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
