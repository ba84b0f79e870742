// Download all, on the page's thread: the results go to the zip writer's worker (static/zip/) as Blobs
// (passed by reference, not copied) and come back as one zip, so packing never blocks the page.
import { RemovalError, connect, startWorker } from "../shared/rpc.js";

const url = new URL("../zip/zip-worker.js", import.meta.url);
let link = null;

// files: [{name, blob}] -> a Blob of the zip. Names that clash get -2, -3… before their extension.
export function zipResults(files) {
  link ??= connect(startWorker(url), {
    onFailure: ({ message }) => {
      link = null; // the next download starts a new writer
      return new RemovalError({ code: "worker_lost", message: `The zip writer stopped: ${message}` });
    },
  });
  return link.call("zip", { files: uniqueNames(files) }).then(({ blob }) => blob);
}

function uniqueNames(files) {
  const seen = new Map();
  return files.map(({ name, blob }) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return { name: count === 1 ? name : name.replace(/(\.[^.]+)?$/, `-${count}$1`), blob };
  });
}
