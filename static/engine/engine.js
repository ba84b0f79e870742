// The engine, in the worker that worker.js starts: it boots Pyodide, starts onnxruntime-web in a
// worker of its own (inference.js), installs the Python package, then answers each request (the
// protocol is in README.md, carried by shared/rpc.js) by handing it to Python
// (py/bgremove/hosts/browser.py). No image logic here.
//
// The worker's URL may carry ?threads=N (fewer threads than the machine has), ?keepModels (loading a
// model does not release the previous one), ?model=ID (the model to download and prepare while
// the Python runtime boots, rather than on the first request), ?device=auto|wasm|webgpu
// (which runtime to start; requests may still ask for wasm) and ?preset=NAME (only checked here:
// requests carry their preset).
import { RemovalError, emit, errorShape, serve } from "../shared/rpc.js";
import { probeWebGpu } from "./gpu.js";
import { startInference } from "./inference.js";
import { encodePng } from "./png.js";
import { keepSnapshot, keptSnapshot } from "./snapshot.js";
import { openStore } from "./store.js";

const vendor = new URL("../vendor/", import.meta.url).href;
const modelsUrl = `${vendor}models/`;
const isolated = self.crossOriginIsolated === true;

// Everything after the engine's own scripts comes through the verified store (Cache Storage,
// checked against the build manifest's sha256). Pyodide fetches its own files, so for the
// manifest's URLs, and only those, this worker's fetch() answers from the store too.
// onnxruntime-web's files and the models are the inference worker's, which loads and checks them.
async function verifiedRuntime(settings) {
  const plainFetch = self.fetch.bind(self);
  const store = await openStore(plainFetch);
  const build = await store.loadFresh(`${vendor}build.json`);
  checkSettings(settings, build);
  const device = settings.get("device") ?? "auto";
  const gpu = await probeWebGpu(device);
  const href = (file) => new URL(file.path, vendor).href;
  // Every file is fetched at once, in parallel, and handed over once when its user asks for it (the
  // WebGPU runtime only if it will be used). Waiting for all of them first also means a damaged
  // file fails the start with its own name.
  const needed = build.runtime.filter((file) => gpu.use || !file.webgpu);
  const total = needed.reduce((sum, file) => sum + file.bytes, 0);
  const received = new Map();
  let downloaded = false; // any file from the network, not Cache Storage: a first visit, or a new build
  const onBytes = ({ url, done, cached }) => {
    received.set(url, done);
    downloaded ||= !cached;
    const sum = [...received.values()].reduce((a, b) => a + b, 0);
    emit("progress", { stage: "runtime", fraction: Math.min(sum / total, 1), bytes: { done: sum, total }, cached: !downloaded });
  };
  const ortFiles = needed.filter((file) => file.path.startsWith("ort/"));
  const inference = startInference(
    {
      runtime: ortFiles.map((file) => ({ url: href(file), sha256: file.sha256 })),
      webgpu: gpu.use,
      // Threads need SharedArrayBuffer, which only a cross-origin isolated worker has.
      threads: Number(settings.get("threads")) || navigator.hardwareConcurrency || 1,
      models: build.models,
      modelsUrl,
      features: gpu.features ?? [],
    },
    onBytes,
    (error) => emit("lost", { error: errorShape(error) }),
  );
  const own = needed.filter((file) => !ortFiles.includes(file));
  const checksums = new Map(own.map((file) => [href(file), file.sha256]));
  const early = new Map(
    own.map((file) => [
      href(file),
      store.load(href(file), file.sha256, (done, _, cached) => onBytes({ url: href(file), done, cached })),
    ]),
  );
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
  return { build, gpu, inference, scriptUrl };
}

// The worker's own settings, refused before anything is downloaded: one the build does not know is a
// mistake of the embedding page's, and it hears so from createRemover's ready.
function checkSettings(settings, build) {
  const known = {
    model: build.models.map((m) => m.id),
    device: build.devices,
    preset: build.presets,
  };
  for (const [name, values] of Object.entries(known)) {
    const value = settings.get(name);
    if (value !== null && !values.includes(value)) {
      throw new RemovalError({
        code: "bad_option",
        message: `Unknown ${name} ${JSON.stringify(value)}: this build has ${values.join(", ")}.`,
      });
    }
  }
}

// The ?model= session, asked for while Pyodide boots; Python, asking for the same later, shares it.
function startEarlyModel(settings, { build, gpu, inference }) {
  const model = settings.get("model");
  if (model === null) return null;
  const device = gpu.use ? "webgpu" : "wasm";
  const onBytes = ({ done, total, cached }) =>
    emit("progress", { stage: "model", fraction: total ? Math.min(done / total, 1) : 0, bytes: { done, total }, cached });
  inference.session(model, device, onBytes).catch(() => {}); // a failure is reported to its first request
  return { model, device };
}

// Pyodide, restored from the snapshot a start before kept when there is one (snapshot.js), else booted,
// with keep(), which makes one for the next start. fresh: boot, whatever is kept (a start again after an
// internal error).
async function startPyodide({ build, scriptUrl }, fresh) {
  // pyodide.asm.js defines globalThis._createPyodideModule, which loadPyodide then uses as is.
  const [{ loadPyodide }] = await Promise.all([
    scriptUrl("pyodide/pyodide.mjs").then((url) => import(url)),
    scriptUrl("pyodide/pyodide.asm.js").then((url) => import(url)),
  ]);
  const indexURL = `${vendor}pyodide/`;
  const snapshot = fresh ? null : await keptSnapshot(vendor, build);
  if (snapshot) {
    try {
      return { pyodide: await loadPyodide({ indexURL, _loadSnapshot: snapshot.bytes }), restored: true };
    } catch (error) {
      console.warn(`background remover: Python's kept snapshot did not restore, booting instead: ${error?.message}`);
      await snapshot.forget();
    }
  }
  const pyodide = await loadPyodide({ indexURL });
  const keep = () =>
    keepSnapshot(vendor, build, loadPyodide, indexURL).catch((error) =>
      console.info(`background remover: no snapshot of Python kept (${error?.message}); the next start boots it`),
    );
  return { pyodide, restored: false, keep: fresh ? null : keep };
}

// Quiet time after which the engine makes Python's snapshot (see startEngine).
const IDLE_MS = 2000;

const since = (t0) => Math.round(performance.now() - t0) / 1000;

// Python with our package, answering through a Service. Made again when it fails in a way we did not
// foresee (see toPython): the runtime's files then come from Cache Storage.
async function startPython(runtime, early, fresh = false) {
  const { build, gpu, inference } = runtime;
  const timings = {};
  let t0 = performance.now();
  const { pyodide, restored, keep } = await startPyodide(runtime, fresh);
  timings.pyodide = since(t0);
  t0 = performance.now();
  await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });
  timings.packages = since(t0);
  t0 = performance.now();
  const micropip = pyodide.pyimport("micropip");
  // Its dependencies (numpy, Pillow) are loaded above; nothing may be looked up on the network.
  await micropip.install.callKwargs(`${vendor}wheels/${build.wheel.file}`, { deps: false });
  const browser = pyodide.pyimport("bgremove.hosts.browser");
  const service = browser.Service(inference, gpu, runtime.settings.has("keepModels"), early, encodePng);
  timings.wheel = since(t0);
  return {
    service,
    restored,
    keep, // makes a snapshot for the next start (null after a restore): the engine calls it when idle
    // Python's WebAssembly memory, which only grows: the browser's measureUserAgentSpecificMemory
    // leaves memories that are not shared (this one) out of its report. Pyodide keeps it in _module.
    pythonHeap: () => pyodide._module.HEAPU8.byteLength,
    version: pyodide.version,
    timings,
  };
}

async function boot(settings) {
  const t0 = performance.now();
  const runtime = { ...(await verifiedRuntime(settings)), settings };
  const { build, gpu, inference } = runtime;
  const files = since(t0);
  const early = startEarlyModel(settings, runtime);
  const [python, { threads, single }] = await Promise.all([startPython(runtime, early), inference.started]);
  // pyodide: from the start until Python runs, the runtime's files included.
  const timings = { ...python.timings, pyodide: files + python.timings.pyodide };
  return {
    runtime,
    python,
    info: {
      timings,
      crossOriginIsolated: isolated,
      pythonFromSnapshot: python.restored, // Python's interpreter restored from the kept snapshot (snapshot.js)
      threads, // what onnxruntime-web runs on, and why only one where it is one
      single,
      webgpu: gpu,
      versions: { pyodide: python.version, onnxruntime: build.onnxruntime_web.version, wheel: build.wheel.file },
      models: build.models,
    },
  };
}

export function startEngine(workerUrl) {
  const settings = workerUrl.searchParams;
  if (!isolated) {
    console.info(
      "background remover: running on 1 thread. Serve the page with Cross-Origin-Opener-Policy: same-origin " +
        "and Cross-Origin-Embedder-Policy: require-corp to use every core.",
    );
  }
  // Whatever stops the start, the page hears why: its own code for a bad setting, else boot_failed.
  const failedStart = (error) =>
    error?.code === "bad_option" ? errorShape(error) : { code: "boot_failed", message: errorShape(error).message };
  const booting = boot(settings);
  booting.then(
    ({ info }) => emit("ready", { info }),
    (error) => emit("boot-error", { error: failedStart(error) }),
  );
  // Python's snapshot is made once nothing has been asked for a while (it holds the worker's thread
  // for about a second): never in the middle of a batch, nor before the first result.
  let pendingSnapshot = null;
  let inFlight = 0;
  let idle = null;
  const whenIdle = () => {
    clearTimeout(idle);
    if (pendingSnapshot && inFlight === 0) {
      idle = setTimeout(() => {
        const keep = pendingSnapshot;
        pendingSnapshot = null;
        keep();
      }, IDLE_MS);
    }
  };
  booting.then(({ python }) => {
    pendingSnapshot = python.keep;
    whenIdle();
  }, () => {});

  // Python answers every request; it checks for cancellation at each stage, through progress().
  let python = booting.then((booted) => booted.python);
  async function ask(request, report) {
    const { service } = await python.catch((error) => Promise.reject(new RemovalError(failedStart(error))));
    try {
      return await service.handle(request, report);
    } catch (error) {
      return { ok: false, error: { code: "internal_error", message: String(error?.message ?? error) } };
    }
  }
  async function toPython(request, { progress, transfer }) {
    inFlight += 1;
    clearTimeout(idle);
    try {
      return await answer(request, { progress, transfer });
    } finally {
      inFlight -= 1;
      whenIdle();
    }
  }
  async function answer(request, { progress, transfer }) {
    const report = (stage, fraction, done, total) =>
      progress({ stage, fraction, bytes: done === undefined ? undefined : { done, total } });
    let reply = await ask(request, report);
    if (reply.error?.code === "internal_error") {
      // An error nobody foresaw may leave the interpreter in a state nobody knows (a bug of ours, or its
      // memory damaged under it, as WebKit has done): a new one answers from now on, this request first
      // (unless it was an ImageBitmap, which is closed once read).
      console.warn(`background remover: starting Python again after an internal error: ${reply.error.message}`);
      python = booting.then(({ runtime }) => startPython(runtime, null, true));
      python.catch(() => {}); // the requests that wait for it hear why it failed
      if (!request.bitmap) reply = await ask(request, report);
    }
    const { ok, error, ...fields } = reply;
    if (!ok) throw new RemovalError(error);
    if (fields.meta) fields.meta.memory = { python: (await python).pythonHeap() };
    if (fields.mask) transfer(fields.mask.data.buffer);
    return fields;
  }

  // One request at a time, in order: a batch shares the worker's memory and the model session.
  serve({ remove: toPython, preload: toPython, release: toPython }, {
    inOrder: true,
    settled: (request) => request.bitmap?.close(),
  });
}
