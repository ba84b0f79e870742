// The one bridge between a page and the background-removal worker. A page (ours
// or an embedding site's) calls async methods; messages, transfers and request
// ids are handled here and nowhere else.
//
//   import { BackgroundRemover } from "./static/client.js";
//   const remover = new BackgroundRemover();
//   const { blob, meta } = await remover.remove(file, { model: "u2netp" }, (stage, f) => {});

export class RemovalError extends Error {
  constructor({ code, message }) {
    super(message);
    this.name = "RemovalError";
    this.code = code;
  }
}

export class BackgroundRemover {
  constructor({ workerUrl = new URL("../worker.js", import.meta.url) } = {}) {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.pending = new Map();
    this.nextId = 1;
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener("message", ({ data }) => {
        if (data.type === "ready") resolve(data.info);
        else if (data.type === "boot-error") reject(new RemovalError(data.error));
        else this.#dispatch(data);
      });
      this.worker.addEventListener("error", (event) =>
        reject(new RemovalError({ code: "boot_failed", message: event.message || "The worker failed to start." })),
      );
    });
  }

  // image: a File, Blob, ArrayBuffer or typed array. Its bytes are transferred, not copied.
  async remove(image, options = {}, onProgress = () => {}) {
    const data = await toArrayBuffer(image);
    return this.#request({ type: "remove", data, options }, [data], onProgress).then(({ blob, meta }) => ({
      blob,
      meta,
    }));
  }

  // Frees a model's session (all models when none is named); resolves to the models released.
  release(model) {
    return this.#request({ type: "release", model }, []).then(({ released }) => released);
  }

  terminate() {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) {
      reject(new RemovalError({ code: "terminated", message: "The worker was terminated." }));
    }
    this.pending.clear();
  }

  #request(message, transfer, onProgress = () => {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  #dispatch(data) {
    const call = this.pending.get(data.id);
    if (!call) return;
    if (data.type === "progress") {
      call.onProgress(data.stage, data.fraction);
      return;
    }
    this.pending.delete(data.id);
    if (data.ok) call.resolve(data);
    else call.reject(new RemovalError(data.error));
  }
}

async function toArrayBuffer(image) {
  if (image instanceof ArrayBuffer) return image;
  if (ArrayBuffer.isView(image)) return image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength);
  if (image instanceof Blob) return image.arrayBuffer();
  throw new RemovalError({ code: "bad_input", message: "Pass a File, Blob, ArrayBuffer or typed array." });
}
