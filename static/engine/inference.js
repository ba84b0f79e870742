// Runs in the engine worker: its side of the link to the inference worker (inference-worker.js),
// where onnxruntime-web runs. Sessions are asked for by (model, device) and come back as handles.
//
// A lost WebGPU device leaves that worker's onnxruntime-web unusable (the run on it never ends, and
// no other run may start beside it), so the worker is replaced by one on wasm alone. A handle made
// before that makes its session again in the new worker at its next run, so Python's sessions stay
// valid; the run that met the loss fails as inference_failed, which the engine retries on wasm.
//
// onnxruntime-web's first session also starts its wasm runtime and threads, and that start sometimes
// never ends, with no error (in Firefox, about 1 fresh start in 10 here). So a session not made in
// time once its bytes are checked is given up on, its worker replaced and the session asked again.
import { RemovalError, connect, startWorker } from "../shared/rpc.js";

const url = new URL("./inference-worker.js", import.meta.url);
// How long each try may take to make a session from checked bytes: a healthy first start of u2netp
// takes 1-2 s in Firefox here; the limits leave room for large models, and the last for a slow device.
const CREATE_LIMITS_S = [30, 90];

// start: {runtime: [{url, sha256}], webgpu, threads, models, modelsUrl, features} (see inference-worker.js);
// onRuntimeBytes({url, done}) follows onnxruntime-web's own files; onLost(error) hears, before any
// call that was waiting on it, that the inference worker has died (it is not restarted: the engine is
// of no more use, and the client starts a new one).
export function startInference(start, onRuntimeBytes, onLost) {
  let options = start;
  let current = launch(options, onRuntimeBytes, onLost);

  // A new worker in place of the current one, which is ended: what was waiting on it fails with `error`.
  const replace = (error) => {
    const old = current;
    current = launch(options, () => {}, onLost);
    old.link.fail(error);
    old.worker.terminate();
  };

  // One try at a session in the worker `owner`: it rejects with `stuck` set once the worker has had
  // the checked bytes for longer than `limit` seconds without making the session.
  const ask = (owner, model, device, onProgress, limit) =>
    new Promise((resolve, reject) => {
      let timer;
      const progress = (fields) => {
        if (!fields.creating) return onProgress(fields);
        timer = setTimeout(() => {
          const message = `onnxruntime-web did not make the session within ${limit} s.`;
          reject(Object.assign(new RemovalError({ code: "model_load_failed", message }), { stuck: true }));
        }, limit * 1000);
      };
      owner.link
        .call("session", { model, device }, { onProgress: progress })
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });

  // The session's description, from a new worker after one that got stuck (or was replaced meanwhile).
  const open = async (model, device, onProgress = () => {}) => {
    let failure;
    for (const limit of CREATE_LIMITS_S) {
      const owner = current;
      try {
        return { owner, described: await ask(owner, model, device, onProgress, limit) };
      } catch (error) {
        if (owner === current && !error.stuck) throw error;
        if (owner === current) {
          replace(new RemovalError({ code: "inference_failed", message: "The inference worker was restarted." }));
        }
        failure = error;
      }
    }
    throw failure;
  };

  const handle = (model, device, { owner, described }) => {
    let { session, inputNames, outputNames } = described;
    const reopen = async () => {
      ({ owner, described: { session } } = await open(model, device));
    };
    return {
      inputNames,
      outputNames,
      // feeds: {name: {type, data, dims}}, the data's buffers handed over; resolves to the fetches, likewise.
      async run(feeds, fetches) {
        if (owner !== current) await reopen();
        const transfer = Object.values(feeds).map((tensor) => tensor.data.buffer);
        try {
          return (await owner.link.call("run", { session, feeds, fetches }, { transfer })).outputs;
        } catch (error) {
          if (error.code !== "gpu_lost") throw error;
          if (owner === current) {
            // The same runtime without WebGPU, from now on.
            options = { ...options, webgpu: false, gpuLost: error.message };
            replace(new RemovalError({ code: "inference_failed", message: error.message }));
          }
          throw new RemovalError({ code: "inference_failed", message: error.message });
        }
      },
      release: () => (owner === current ? owner.link.call("release", { session }) : Promise.resolve({})),
    };
  };

  return {
    started: current.started,
    // The model's session on a device: downloaded, checked, cached and created once, whoever asks first.
    session: (model, device, onProgress) => open(model, device, onProgress).then((opened) => handle(model, device, opened)),
  };
}

// One inference worker, started: {worker, link, started}.
function launch(start, onRuntimeBytes, onLost) {
  const worker = startWorker(url);
  const link = connect(worker, {
    onFailure({ message, lost }) {
      if (!lost) {
        return new RemovalError({ code: "inference_failed", message: `The inference worker failed: ${message} (${url.href})` });
      }
      const error = new RemovalError({
        code: "worker_lost",
        message: "The inference worker stopped (the browser ended it, perhaps for memory); the next call starts the engine again.",
      });
      onLost(error);
      return error;
    },
  });
  const started = link.call("start", start, { onProgress: onRuntimeBytes });
  started.catch(() => {}); // the engine's start reports a failure, once Python's files are in
  return { worker, link, started };
}
