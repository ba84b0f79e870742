// The inference worker: onnxruntime-web in a worker of its own, started by worker.js, which is
// its only client. Sessions are created and run here, so that Python's worker is not held up
// while a model loads: at start-up the first model's download, check and preparation (about a
// second of one thread's time for IS-Net) run beside Pyodide's boot instead of taking turns
// with it on one thread.
//
// Protocol:
//   in : {type: "start", runtime: [{url, sha256}], webgpu, threads, early: {url, sha256, device} | null}
//        {id, type: "create", bytes (transferred), device} | {id, type: "run", session, feeds, fetches}
//        {id, type: "release", session}
//   out: {type: "bytes", url, done, total} (start-up downloads, the early model's too)
//        {id: "start", ok, threads} | {id: "early", ok, ...session} | {id, ok: true, ...} | {id, ok: false, message}
//   A session is {session (its number here), inputNames, outputNames}; a tensor is {type, data, dims}.
import { openStore } from "./cache.js";

// On wasm, options that bound the heap (which never shrinks): no NCHWc layout ("all"), no weight
// prepacking, and parallel mode, which plans no memory pattern. IS-Net medium, bare page: 845 -> 520 MB,
// the same output to the bit and the same speed within noise (docs/bench.md).
const WASM_OPTIONS = {
  graphOptimizationLevel: "extended",
  executionMode: "parallel",
  extra: { session: { disable_prepacking: "1" } },
};

const sessions = new Map();
let nextSession = 1;
let ort = null;
const opening = openStore();

// onnxruntime-web's wasm-only build, or its JSEP build (the wasm and WebGPU execution providers),
// every file checked by the store; scripts are imported from blob URLs of the checked bytes.
async function startOrt({ runtime, webgpu, threads }) {
  const store = await opening;
  const loaded = new Map(
    runtime.map(({ url, sha256 }) => [
      url,
      store.load(url, sha256, (done, total) => postMessage({ type: "bytes", url, done, total })),
    ]),
  );
  await Promise.all(loaded.values());
  const file = (name) => loaded.get(runtime.find(({ url }) => url.endsWith(`/${name}`)).url);
  const scriptUrl = async (name) =>
    URL.createObjectURL(new Blob([(await file(name)).bytes], { type: "text/javascript" }));
  const [script, build] = webgpu
    ? ["ort.min.mjs", "ort-wasm-simd-threaded.jsep"]
    : ["ort.wasm.min.mjs", "ort-wasm-simd-threaded"];
  const [module, mjs, wasm] = await Promise.all([
    scriptUrl(script).then((url) => import(url)),
    scriptUrl(`${build}.mjs`),
    file(`${build}.wasm`),
  ]);
  module.env.wasm.wasmPaths = { mjs };
  module.env.wasm.wasmBinary = wasm.bytes;
  // Threads need SharedArrayBuffer, which only a cross-origin isolated worker has.
  module.env.wasm.numThreads = self.crossOriginIsolated === true ? threads : 1;
  ort = module;
}

async function create(bytes, device) {
  const options = device === "wasm" ? WASM_OPTIONS : { graphOptimizationLevel: "all" };
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [device], ...options });
  const id = nextSession++;
  sessions.set(id, session);
  return { session: id, inputNames: session.inputNames, outputNames: session.outputNames };
}

async function run({ session, feeds, fetches }) {
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, { type, data, dims }]) => [name, new ort.Tensor(type, data, dims)]),
  );
  const results = await sessions.get(session).run(tensors, fetches);
  const outputs = {};
  const transfer = [];
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
    if (tensor.data.buffer instanceof ArrayBuffer) transfer.push(tensor.data.buffer);
  }
  return { reply: { outputs }, transfer };
}

async function release(session) {
  await sessions.get(session)?.release();
  sessions.delete(session);
  return {};
}

async function answer(id, work) {
  try {
    const { reply, transfer = [] } = await work();
    postMessage({ id, ok: true, ...reply }, transfer);
  } catch (error) {
    postMessage({ id, ok: false, message: String(error?.message ?? error) });
  }
}

// The start-up model: downloaded and checked here, then prepared as soon as the runtime is up.
async function early({ url, sha256, device }, starting) {
  const onBytes = (done, total) => postMessage({ type: "bytes", url, done, total });
  const store = await opening;
  const [{ bytes }] = await Promise.all([store.load(url, sha256, onBytes), starting]);
  return { reply: await create(bytes, device) };
}

self.onmessage = ({ data: message }) => {
  const { id, type } = message;
  if (type === "start") {
    const starting = startOrt(message);
    answer("start", () => starting.then(() => ({ reply: { threads: ort.env.wasm.numThreads } })));
    if (message.early) answer("early", () => early(message.early, starting));
  } else if (type === "create") {
    answer(id, async () => ({ reply: await create(message.bytes, message.device) }));
  } else if (type === "run") {
    answer(id, () => run(message));
  } else if (type === "release") {
    answer(id, async () => ({ reply: await release(message.session) }));
  }
};
