// One card per image, on the page's thread: what it shows (state, stage, timings, errors) and the
// buttons on it. The card keeps the image's file, its current result and the model's mask, so that
// new settings make the result again without running the model (the engine decides when it can).
const STAGES = {
  decode: "Decoding",
  model: "Loading the model",
  download: "Loading the model",
  preprocess: "Preparing",
  inference: "Finding the subject",
  postprocess: "Refining the edges",
  encode: "Encoding",
  fallback: "WebGPU failed; again on WebAssembly",
};
// The stages' names on the timings line.
const TIMED = { decode: "decode", model: "model", preprocess: "prepare", inference: "inference", postprocess: "refine", encode: "encode" };
// What each output is called in a file name.
const OUTPUT_NAMES = { foreground: "cutout", mask: "mask", background: "background" };

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

export class Card {
  constructor(file, { onSelect, onCancel, onRetry }) {
    this.file = file;
    this.name = file.name || "pasted-image.png";
    this.result = null; // {blob, url, meta, options}
    this.mask = null;
    this.controller = null;
    const card = (this.element = document.createElement("article"));
    card.className = "card";
    card.dataset.state = "queued";
    card.innerHTML = `
      <button type="button" class="thumb checker" aria-label="Compare"><img alt="" decoding="async"></button>
      <div class="body">
        <h3></h3>
        <p class="status" role="status" aria-live="polite">Queued</p>
        <progress max="1" aria-label="Progress"></progress>
        <p class="meta"></p>
        <div class="actions">
          <button type="button" class="cancel">Cancel</button>
          <button type="button" class="retry" hidden>Retry</button>
          <a class="download" hidden></a>
        </div>
      </div>`;
    card.querySelector("h3").textContent = this.name;
    card.querySelector(".thumb").setAttribute("aria-label", `Compare ${this.name}`);
    this.original = URL.createObjectURL(file);
    const thumb = card.querySelector(".thumb img");
    thumb.src = this.original;
    thumb.addEventListener("error", () => thumb.removeAttribute("src"), { once: true });
    card.querySelector(".thumb").addEventListener("click", () => onSelect(this));
    card.querySelector(".cancel").addEventListener("click", () => onCancel(this));
    card.querySelector(".retry").addEventListener("click", () => onRetry(this));
  }

  get state() {
    return this.element.dataset.state;
  }

  // The file name a result is downloaded as: photo.jpg -> photo-cutout.png.
  fileName(format, output) {
    return `${this.name.replace(/\.[^.]+$/, "")}-${OUTPUT_NAMES[output]}.${format.extension}`;
  }

  queued(again) {
    this.set(again ? "updating" : "queued", again ? "Updating…" : "Queued");
    this.element.querySelector(".retry").hidden = true;
    this.element.querySelector(".cancel").hidden = false;
    delete this.element.dataset.errorCode;
  }

  progress({ stage, fraction, bytes }) {
    if (this.state === "queued") this.element.dataset.state = "working";
    const amount = bytes ? `: ${megabytes(bytes.done)} of ${megabytes(bytes.total)}` : "…";
    this.element.querySelector(".status").textContent = `${STAGES[stage] ?? stage}${amount}`;
    const bar = this.element.querySelector("progress");
    if (bytes) bar.value = fraction;
    else bar.removeAttribute("value");
  }

  done({ blob, meta, mask }, options, format) {
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.result = { blob, url: URL.createObjectURL(blob), meta, options, name: this.fileName(format, options.output) };
    if (mask) this.mask = mask;
    this.element.querySelector(".thumb img").src = this.result.url;
    const link = this.element.querySelector(".download");
    link.href = this.result.url;
    link.download = this.result.name;
    link.textContent = `Download ${format.label}`;
    link.hidden = false;
    this.element.querySelector(".cancel").hidden = true;
    const timings = Object.entries(meta.timings)
      .map(([stage, seconds]) => `${TIMED[stage] ?? stage} ${seconds.toFixed(2)} s`)
      .join(" · ");
    const ran = meta.reused ? `mask reused from ${meta.device}, no new inference` : `on ${meta.device}`;
    this.element.querySelector(".meta").textContent = `${meta.width}×${meta.height} · ${meta.model} ${ran} · ${timings}`;
    this.element.querySelector(".fallback")?.remove();
    // Under Auto nobody asked for a device, so only a device the user chose gets a note when it did not run.
    if (meta.fallback && options.device !== "auto") {
      const notice = document.createElement("p");
      notice.className = "fallback";
      notice.textContent = `Not on ${meta.fallback.from}: ${meta.fallback.reason}`;
      this.element.querySelector(".meta").after(notice);
    }
    this.set("done", meta.reused ? "Done (updated without a new inference)" : "Done");
  }

  failed(error) {
    const code = error.code ?? "internal_error";
    if (code === "aborted") {
      this.set("cancelled", "Cancelled");
    } else {
      this.element.dataset.errorCode = code;
      this.set("error", `Error (${code}): ${error.message}`);
    }
    this.element.querySelector(".cancel").hidden = true;
    const retry = this.element.querySelector(".retry");
    retry.hidden = false;
    retry.textContent = code === "aborted" ? "Start again" : "Retry";
  }

  set(state, text) {
    this.element.dataset.state = state;
    this.element.querySelector(".status").textContent = text;
  }

  dispose() {
    this.controller?.abort();
    URL.revokeObjectURL(this.original);
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.element.remove();
  }
}
