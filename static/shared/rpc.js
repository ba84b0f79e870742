// The one protocol between this product's threads, on any thread: the page and the engine worker,
// the engine worker and the inference worker. Ids, progress, transfers, cancellation, errors and a
// worker's death are handled here and nowhere else.
//
//   request : {id, type, ...fields}                      (buffers transferred)
//   cancel  : {id, type: "cancel"}                       (for an earlier request's id)
//   replies : {id, type: "progress", ...fields}, then {id, type: "result", ok: true, ...fields}
//             or {id, type: "result", ok: false, error: {code, message}}
//   events  : {type, ...fields}, without an id           (what a worker says unasked: its start-up)
//   alive   : {type: "alive", lock}                      (a Web Lock the worker holds while it lives)
//
// A worker may die without a word (the browser ends it for memory, or it crashes): no error event,
// no reply. The Web Lock it holds is released the moment it goes, whatever killed it, so the caller
// waits for that lock and learns of the death at once, while calls are in flight or not.

export class RemovalError extends Error {
  constructor({ code, message }) {
    super(message);
    this.name = code === "aborted" ? "AbortError" : "RemovalError";
    this.code = code;
  }
}

export const aborted = () => new RemovalError({ code: "aborted", message: "The request was cancelled." });

// Any error as the protocol's {code, message}: ours keep their code, anything else is a bug of ours.
export function errorShape(error, code = "internal_error") {
  return { code: error?.code ?? code, message: String(error?.message ?? error) };
}

// The calling side of a link to a worker. onEvent(fields) hears what it says unasked. When it dies,
// onFailure({message, lost}) says why (lost: it ended without an error, found by its lock; else its
// error event's message), once: every pending and later call rejects with what that returns.
export function connect(worker, { onEvent = () => {}, onFailure }) {
  const pending = new Map();
  let nextId = 1;
  let failure = null;

  const settle = (id) => {
    const call = pending.get(id);
    pending.delete(id);
    call?.unlisten();
    return call;
  };
  const cancel = (id, reason) => {
    const call = settle(id);
    if (!call) return;
    worker.postMessage({ id, type: "cancel" });
    call.reject(reason);
  };
  const fail = (error) => {
    failure ??= error;
    for (const id of [...pending.keys()]) settle(id).reject(failure);
  };
  const die = (cause) => {
    if (!failure) fail(onFailure(cause));
  };

  worker.addEventListener("message", ({ data }) => {
    if (data?.type === "alive" && data.id === undefined) {
      navigator.locks?.request(data.lock, () => die({ message: "it stopped", lost: true }));
      return;
    }
    if (data?.id === undefined) return onEvent(data);
    const { id, type, ok, error, ...fields } = data;
    const call = pending.get(id);
    if (!call) return; // a call already settled (cancelled): nobody waits for its reply
    if (type === "progress") {
      // A listener that throws cancels its call, with what it threw (the engine's Python does this).
      try {
        call.onProgress(fields);
      } catch (thrown) {
        cancel(id, thrown);
      }
      return;
    }
    settle(id);
    if (ok) call.resolve(fields);
    else call.reject(new RemovalError(error));
  });
  worker.addEventListener("error", (event) => {
    event.preventDefault();
    die({ message: event.message || "it failed to start", lost: false });
  });

  return {
    call(type, fields = {}, { transfer = [], onProgress = () => {}, signal } = {}) {
      if (failure) return Promise.reject(failure);
      if (signal?.aborted) return Promise.reject(aborted());
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const onAbort = () => cancel(id, aborted());
        signal?.addEventListener("abort", onAbort);
        pending.set(id, { resolve, reject, onProgress, unlisten: () => signal?.removeEventListener("abort", onAbort) });
        try {
          worker.postMessage({ ...fields, id, type }, transfer);
        } catch (error) {
          settle(id);
          reject(new RemovalError({ code: "bad_input", message: `This request cannot be sent to the worker: ${error.message}` }));
        }
      });
    },
    // Rejects every pending and later call (the worker was ended on purpose, or is of no more use).
    fail,
  };
}

// The answering side, in a worker: handlers[type](request, context) resolves to the reply's fields.
// context.progress(fields) reports, and throws `aborted` once the caller has cancelled;
// context.transfer(...buffers) hands buffers over with the reply. inOrder: one request at a time,
// in the order they came. settled(request) runs after each, answered or not (to free what it holds).
export function serve(handlers, { inOrder = false, settled = () => {} } = {}) {
  holdLifeLock();
  const cancelled = new Set();
  let queue = Promise.resolve();

  async function answer(request) {
    const { id, type } = request;
    const transfer = [];
    const context = {
      progress(fields) {
        if (cancelled.has(id)) throw aborted();
        postMessage({ ...fields, id, type: "progress" });
      },
      transfer: (...buffers) => transfer.push(...buffers),
    };
    let reply;
    try {
      if (cancelled.has(id)) throw aborted();
      if (!Object.hasOwn(handlers, type)) {
        throw new RemovalError({ code: "bad_option", message: `Unknown request type ${JSON.stringify(type)}.` });
      }
      reply = { ...(await handlers[type](request, context)), ok: true };
    } catch (error) {
      reply = { ok: false, error: errorShape(error) };
      transfer.length = 0;
    } finally {
      cancelled.delete(id);
      settled(request);
    }
    try {
      postMessage({ ...reply, id, type: "result" }, transfer);
    } catch (error) {
      postMessage({ ok: false, error: errorShape(error), id, type: "result" }); // a reply that cannot be cloned
    }
  }

  self.addEventListener("message", ({ data: request }) => {
    if (request?.type === "cancel") {
      cancelled.add(request.id);
      return;
    }
    if (inOrder) queue = queue.then(() => answer(request));
    else answer(request);
  });
}

// The lock this worker holds until it ends, named to whoever started it. Web Locks exist in secure
// contexts only; elsewhere a death is noticed only through an error event.
function holdLifeLock() {
  if (!navigator.locks) return;
  const lock = `bgremove-alive-${crypto.randomUUID()}`;
  navigator.locks.request(lock, () => {
    emit("alive", { lock });
    return new Promise(() => {});
  });
}

// What a worker says unasked (no id).
export function emit(type, fields = {}) {
  postMessage({ ...fields, type });
}

// A module worker from any origin. Browsers start workers only from their own origin; for a script
// hosted elsewhere (which must allow CORS), a one-line same-origin module imports it.
export function startWorker(url) {
  if (url.origin === new URL(globalThis.location.href).origin) return new Worker(url, { type: "module" });
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(shim), { type: "module" });
}
