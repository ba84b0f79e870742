// The demo page, on the page's thread: shows state and sends requests; it never touches pixels.
import { createRemover } from "../client/remover.js";

const $ = (id) => document.getElementById(id);
const STAGES = {
  decode: "Decoding",
  model: "Loading the model",
  download: "Downloading the model",
  preprocess: "Preparing",
  inference: "Finding the subject",
  postprocess: "Cutting out",
  encode: "Encoding",
  fallback: "WebGPU failed; again on WebAssembly",
};
const params = new URLSearchParams(location.search);
// The page's first model (the select's first option, IS-Net medium, unless the address names one)
// starts loading with the engine, so the first photo does not wait for it.
const remover = createRemover({
  model: params.get("model") ?? "isnet-medium",
  device: params.get("device") ?? "auto",
  onProgress: ({ stage, bytes }) =>
    stage === "runtime" &&
    showEngine(`Starting the engine: ${megabytes(bytes.done)} of ${megabytes(bytes.total)} checked and loaded…`),
});

const megabytes = (bytes) => `${Math.round(bytes / 1e6)} MB`;
// The output formats as the build manifest lists them (py/bgremove/formats.py), by MIME type.
const formats = new Map();

async function setUp() {
  const build = await fetch(new URL("../vendor/build.json", import.meta.url)).then((r) => r.json());
  for (const model of build.models) {
    $("model").add(new Option(`${model.label} · ${megabytes(model.bytes)} · ${model.licence}`, model.id));
  }
  for (const format of build.formats) {
    formats.set(format.mime, format);
    $("format").add(new Option(format.alpha ? format.label : `${format.label} (white background)`, format.name));
  }
  $("licences").textContent =
    "Model weights: " +
    build.models.map((m) => `${m.label}, ${m.licence}`).join("; ") +
    `. Runtime: Pyodide ${build.pyodide.version} (MPL-2.0), onnxruntime-web ${build.onnxruntime_web.version} (MIT).`;
  preselect("model", params.get("model"));
  preselect("device", params.get("device"));
  for (const id of ["preset", "output", "format", "quality"]) preselect(id, params.get(id));
}

function preselect(id, value) {
  if (value === null) return;
  const field = $(id);
  if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) {
    showEngine(`Unknown ${id} "${value}" in the address; using ${field.value}.`, true);
    return;
  }
  field.value = value;
}

function showEngine(text, isError = false) {
  $("engine").textContent = text;
  $("engine").classList.toggle("error", isError);
}

function currentOptions() {
  return {
    model: $("model").value,
    preset: $("preset").value,
    output: $("output").value,
    format: $("format").value,
    quality: Number($("quality").value),
    device: $("device").value,
  };
}

function addCard(file) {
  const card = document.createElement("article");
  card.className = "card";
  card.dataset.state = "queued";
  card.innerHTML = `
    <h2></h2>
    <div class="pair">
      <figure><img class="original" alt=""><figcaption>Original</figcaption></figure>
      <figure class="output"><div class="checker"><img class="result" alt=""></div><figcaption>Result</figcaption></figure>
    </div>
    <p class="status">Waiting…</p>
    <progress max="1" value="0"></progress>
    <p class="meta"></p>`;
  card.querySelector("h2").textContent = file.name || "Pasted image";
  const original = card.querySelector(".original");
  original.alt = `Original: ${file.name || "pasted image"}`;
  original.addEventListener("error", () => original.replaceWith(noPreview()));
  original.src = URL.createObjectURL(file);
  return card;
}

function noPreview() {
  const box = document.createElement("div");
  box.className = "no-preview";
  box.textContent = "No preview";
  return box;
}

async function process(file, card) {
  const status = card.querySelector(".status");
  const bar = card.querySelector("progress");
  const options = currentOptions();
  for (const old of card.querySelectorAll(".retry, .fallback")) old.remove();
  delete card.dataset.errorCode;
  card.dataset.state = "queued";
  status.textContent = "Waiting…";
  try {
    const { blob, meta } = await remover.remove(file, {
      ...options,
      onProgress: ({ stage, fraction, bytes }) => {
        card.dataset.state = "working";
        const amount = bytes ? ` ${megabytes(bytes.done)} of ${megabytes(bytes.total)}` : "…";
        status.textContent = `${STAGES[stage] ?? stage}${amount}`;
        if (bytes) bar.value = fraction;
        else bar.removeAttribute("value");
      },
    });
    const url = URL.createObjectURL(blob);
    const result = card.querySelector(".result");
    result.alt = `Result: ${options.output}`;
    result.src = url;
    const link = document.createElement("a");
    link.className = "download";
    link.href = url;
    const format = formats.get(blob.type);
    link.download = `${(file.name || "image").replace(/\.[^.]+$/, "")}-${options.output}.${format.extension}`;
    link.textContent = `Download ${format.label}`;
    status.textContent = "Done";
    card.querySelector(".meta").textContent =
      `${meta.width}×${meta.height} · ${meta.model} on ${meta.device} · ` +
      `inference ${meta.timings.inference.toFixed(2)} s, total ${sum(meta.timings).toFixed(2)} s`;
    if (meta.fallback && options.device === "auto") {
      noteAuto(meta.fallback);
    } else if (meta.fallback) {
      const notice = document.createElement("p");
      notice.className = "fallback";
      notice.textContent = `Not on ${meta.fallback.from}: ${meta.fallback.reason}`;
      card.querySelector(".meta").after(notice);
    }
    card.append(link);
    card.dataset.state = "done";
  } catch (error) {
    card.dataset.state = "error";
    card.dataset.errorCode = error.code ?? "internal_error";
    status.textContent = `Error (${card.dataset.errorCode}): ${error.message}`;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.textContent = "Retry";
    retry.addEventListener("click", () => process(file, card));
    status.after(retry);
  }
}

// Under Auto nobody asked for a device, so the cards do not say which one did not run: the engine
// line says it, once for each reason (the start-up one is there already).
function noteAuto({ from, reason }) {
  const line = $("engine");
  if (!line.textContent.includes(reason)) line.textContent += ` Auto fell back from ${from} to WebAssembly: ${reason}.`;
}

const sum = (timings) => Object.values(timings).reduce((a, b) => a + b, 0);

// A batch goes on top, in the order it was given, and is processed in that order.
function accept(files) {
  const cards = files.map(addCard);
  $("results").prepend(...cards);
  files.forEach((file, i) => process(file, cards[i]));
}

const dropzone = $("dropzone");
$("files").addEventListener("change", (event) => {
  accept([...event.target.files]);
  event.target.value = "";
});
dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropzone.classList.add("over");
});
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  accept([...event.dataTransfer.files]);
});
document.addEventListener("paste", (event) => accept([...event.clipboardData.files]));

// The page keeps itself for offline visits; the engine keeps its runtime and models on its own.
navigator.serviceWorker
  ?.register(new URL("../../sw.js", import.meta.url))
  .catch((error) => console.info(`background remover: no offline copy of this page (${error.message}).`));

setUp().catch((error) => showEngine(`Could not read the build manifest: ${error.message}`, true));
remover.ready.then(
  (info) => {
    const threads = info.single ? `1 thread (${info.single})` : `${info.threads} threads`;
    const gpu = info.webgpu.use ? `WebGPU on ${info.webgpu.adapter}` : `no WebGPU (${info.webgpu.reason})`;
    showEngine(
      `Ready: Pyodide ${info.versions.pyodide}, onnxruntime-web ${info.versions.onnxruntime}, ${threads}, ${gpu}. ` +
        `Started in ${(info.timings.pyodide + info.timings.packages + info.timings.wheel).toFixed(1)} s.`,
    );
    document.body.dataset.engine = "ready";
  },
  (error) => {
    showEngine(`The engine failed to start: ${error.message}`, true);
    document.body.dataset.engine = "failed";
  },
);
