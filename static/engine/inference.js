// Runs in the engine worker: its side of the link to the inference worker (inference-worker.js),
// where onnxruntime-web runs. Sessions are asked for by (model, device) and come back as handles.
import { RemovalError, connect, startWorker } from "../shared/rpc.js";

const url = new URL("./inference-worker.js", import.meta.url);

// start: {runtime: [{url, sha256}], webgpu, threads, models, modelsUrl, features} (see inference-worker.js);
// onRuntimeBytes({url, done}) follows onnxruntime-web's own files.
export function startInference(start, onRuntimeBytes) {
  const link = connect(startWorker(url), {
    onFailure: (event) =>
      new RemovalError({
        code: "inference_failed",
        message: `The inference worker failed: ${event.message ?? `could not start ${url.href}`}`,
      }),
  });
  const handle = ({ session, inputNames, outputNames }) => ({
    inputNames,
    outputNames,
    // feeds: {name: {type, data, dims}}, the data's buffers handed over; resolves to the fetches, likewise.
    run: (feeds, fetches) => {
      const transfer = Object.values(feeds).map((tensor) => tensor.data.buffer);
      return link.call("run", { session, feeds, fetches }, { transfer }).then(({ outputs }) => outputs);
    },
    release: () => link.call("release", { session }),
  });
  const started = link.call("start", start, { onProgress: onRuntimeBytes });
  started.catch(() => {}); // the engine's start reports a failure, once Python's files are in
  return {
    started,
    // The model's session on a device: downloaded, checked, cached and created once, whoever asks first.
    session: (model, device, onProgress) => link.call("session", { model, device }, { onProgress }).then(handle),
  };
}
