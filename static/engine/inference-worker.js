// The inference worker: onnxruntime-web in a worker of its own, started by the engine worker
// (inference.js), its only client. The one place a model is loaded: fetched, checked against its
// sha256, cached and made into a session here, for the start-up model and every later one alike,
// so that the engine's Python is not held up while a model loads (at start-up, the first model's
// download and preparation run beside Pyodide's boot instead of taking turns with it).
//
// Requests (shared/rpc.js):
//   start   {runtime: [{url, sha256}], webgpu, threads, models (the manifest's), modelsUrl, features,
//           gpuLost (why WebGPU is gone, in a worker that replaces one whose device was lost)}
//           progress {url, done}; result {threads, single} (single: why one thread, or null)
//   session {model, device}: progress {done, total, cached} while downloading, then {creating: true};
//           result {session, inputNames, outputNames}
//   run     {session, feeds, fetches}: a tensor is {type, data, dims}; result {outputs}
//   release {session}
import { RemovalError, aborted, serve } from "../shared/rpc.js";
import { openStore } from "./store.js";

// On wasm, options that bound the heap (which never shrinks): no NCHWc layout ("all"), no weight
// prepacking, and parallel mode, which plans no memory pattern. IS-Net medium, bare page: 845 -> 520 MB,
// the same output to the bit and the same speed within noise (docs/bench.md).
const WASM_OPTIONS = {
  graphOptimizationLevel: "extended",
  executionMode: "parallel",
  extra: { session: { disable_prepacking: "1" } },
};

const opening = openStore();
let starting = null;
const sessions = new Map(); // id -> {session, key}
const loading = new Map(); // "model@device" -> the promise of its session's description
let nextSession = 1;
// Once a WebGPU session exists: a promise that rejects when its device is lost (a driver reset, the
// GPU process gone, destroy()). onnxruntime-web's runs on a lost device never settle, so each run on
// WebGPU races it; the engine then replaces this worker (inference.js).
let gpuLost = null;

function watchGpu(ort) {
  gpuLost ??= ort.env.webgpu.device.lost.then(({ reason, message }) => {
    throw new RemovalError({
      code: "gpu_lost",
      message: `The WebGPU device was lost (${reason ?? "unknown"}${message ? `: ${message}` : ""}).`,
    });
  });
  gpuLost.catch(() => {});
}

// onnxruntime-web's wasm-only build, or its JSEP build (the wasm and WebGPU execution providers),
// every file checked by the store; scripts are imported from blob URLs of the checked bytes.
async function start({ runtime, webgpu, threads, models, modelsUrl, features = [], gpuLost: lostBefore }, progress) {
  const store = await opening;
  const loaded = new Map(
    runtime.map(({ url, sha256 }) => [url, store.load(url, sha256, (done, _, cached) => progress({ url, done, cached }))]),
  );
  await Promise.all(loaded.values());
  const file = (name) => loaded.get(runtime.find(({ url }) => url.endsWith(`/${name}`)).url);
  const scriptUrl = async (name) =>
    URL.createObjectURL(new Blob([(await file(name)).bytes], { type: "text/javascript" }));
  const [script, build] = webgpu
    ? ["ort.min.mjs", "ort-wasm-simd-threaded.jsep"]
    : ["ort.wasm.min.mjs", "ort-wasm-simd-threaded"];
  const [ort, mjs, wasm] = await Promise.all([
    scriptUrl(script).then((url) => import(url)),
    scriptUrl(`${build}.mjs`),
    file(`${build}.wasm`),
  ]);
  ort.env.wasm.wasmPaths = { mjs };
  ort.env.wasm.wasmBinary = wasm.bytes;
  // Threads need SharedArrayBuffer, which only a cross-origin isolated worker has, and not in every
  // browser even then (WebKitGTK): onnxruntime-web would fall back to one thread at its first session.
  const single =
    self.crossOriginIsolated !== true
      ? "the page is not cross-origin isolated"
      : typeof SharedArrayBuffer === "undefined"
        ? "this browser has no SharedArrayBuffer"
        : null;
  ort.env.wasm.numThreads = single ? 1 : threads;
  return { ort, webgpu, store, models, modelsUrl, features, single, lostBefore };
}

// The file a model runs from on a device: on WebGPU its variant (assets.lock.json), unless the
// adapter has the feature that makes the variant needless.
function modelFile({ models, features }, id, device) {
  const model = models.find((m) => m.id === id);
  if (!model) throw new RemovalError({ code: "model_load_failed", message: `${id} is not in this build's manifest.` });
  const variant = model.webgpu && !features.includes(model.webgpu.unless_feature) ? model.webgpu : model;
  return device === "webgpu" ? variant : model;
}

async function load(model, device, progress) {
  const runtime = await starting;
  const { file, sha256 } = modelFile(runtime, model, device);
  try {
    if (device === "webgpu" && !runtime.webgpu) throw new Error(runtime.lostBefore ?? "this runtime has no WebGPU");
    if (device === "webgpu") await gpuLost; // a lost device takes no new session
    const { bytes } = await runtime.store.load(runtime.modelsUrl + file, sha256, (done, total, cached) =>
      progress({ done, total, cached }),
    );
    const options = device === "wasm" ? WASM_OPTIONS : { graphOptimizationLevel: "all" };
    progress({ creating: true }); // from here the engine gives the session a time limit (inference.js)
    const session = await runtime.ort.InferenceSession.create(bytes, { executionProviders: [device], ...options });
    if (device === "webgpu") watchGpu(runtime.ort);
    const id = nextSession++;
    sessions.set(id, { session, device, key: `${model}@${device}` });
    return { session: id, inputNames: session.inputNames, outputNames: session.outputNames };
  } catch (error) {
    if (error?.code === aborted().code) throw error;
    throw new RemovalError({ code: "model_load_failed", message: `Could not load ${file}: ${error?.message ?? error}` });
  }
}

// Whoever asks for a (model, device) first starts its load; later askers share it.
function session({ model, device }, { progress }) {
  const key = `${model}@${device}`;
  if (!loading.has(key)) {
    const loaded = load(model, device, progress);
    loading.set(key, loaded);
    loaded.catch(() => loading.delete(key)); // a failed load may be tried again
  }
  return loading.get(key);
}

async function run({ session, feeds, fetches }, { transfer }) {
  const { ort } = await starting;
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, { type, data, dims }]) => [name, new ort.Tensor(type, data, dims)]),
  );
  const entry = sessions.get(session);
  const running = entry.session.run(tensors, fetches);
  const results = await (entry.device === "webgpu" ? Promise.race([running, gpuLost]) : running);
  const outputs = {};
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
    if (tensor.data.buffer instanceof ArrayBuffer) transfer(tensor.data.buffer);
  }
  return { outputs };
}

async function release({ session }) {
  const entry = sessions.get(session);
  sessions.delete(session);
  if (!entry) return {};
  loading.delete(entry.key);
  await entry.session.release();
  return {};
}

serve({
  start(request, { progress }) {
    starting = start(request, progress);
    return starting.then(({ ort, single }) => ({ threads: ort.env.wasm.numThreads, single }));
  },
  session,
  run,
  release,
});
