// The demo page, on the page's thread: shows state and sends requests; it never touches pixels.
// settings.js is the form, intake.js how images arrive, cards.js a card each, viewer.js the compare
// view, zip.js download all; the engine is the embed client's (../client/remover.js).
import { createRemover } from "../client/remover.js";
import { Card } from "./cards.js";
import { setUpIntake } from "./intake.js";
import { REAPPLY, initialSettings, setUpSettings } from "./settings.js";
import { setUpViewer } from "./viewer.js";
import { zipResults } from "./zip.js";

const $ = (id) => document.getElementById(id);
const megabytes = (bytes) => `${Math.round(bytes / 1e6)} MB`;

const initial = initialSettings();
const cards = [];
const viewer = setUpViewer();
let remover = null;
let settings = null;
// Bumped by every change that a finished result is made again for: a card whose run began before
// the latest change runs again when it ends.
let settingsVersion = 0;

// The engine's start as one bar: the runtime's bytes and the start-up model's, downloaded or checked
// from the cache.
function startProgress() {
  const parts = { runtime: { done: 0, total: 0, cached: true }, model: { done: 0, total: 0, cached: true } };
  return ({ stage, bytes, cached }) => {
    if (!parts[stage] || !bytes) return;
    parts[stage] = { ...bytes, cached };
    const done = parts.runtime.done + parts.model.done;
    const total = parts.runtime.total + parts.model.total;
    const fromCache = parts.runtime.cached && parts.model.cached;
    $("engine-progress").value = total ? done / total : 0;
    showEngine(
      fromCache
        ? `Starting from this browser's cache: ${megabytes(done)} of ${megabytes(total)} checked…`
        : `First visit: downloading the engine and the model, ${megabytes(done)} of ${megabytes(total)}…`,
    );
  };
}

function showEngine(text, isError = false) {
  $("engine").textContent = text;
  $("engine").classList.toggle("error", isError);
}

// A card's work: its first cut-out, or its result made again with the current settings (the model's
// mask goes along, so the engine runs the model only where the new settings need a new mask).
async function run(card, again = false) {
  card.controller?.abort();
  const controller = (card.controller = new AbortController());
  const options = settings.options();
  const format = settings.format();
  const version = settingsVersion;
  card.queued(again);
  try {
    const result = await remover.remove(card.file, {
      ...options,
      mask: card.mask ?? undefined,
      signal: controller.signal,
      onProgress: (update) => card.progress(update),
    });
    card.done(result, options, format);
    if (result.meta.fallback && options.device === "auto") noteAuto(result.meta.fallback);
    if (viewer.current === card) viewer.show(card);
    if (version !== settingsVersion) queueMicrotask(() => run(card, true));
  } catch (error) {
    if (card.controller !== controller) return; // replaced by a newer run of the same card
    card.failed(error);
  } finally {
    if (card.controller === controller) card.controller = null;
    updateBatch();
  }
}

// Under Auto the cards do not say which device did not run: the engine line says it, once per reason.
function noteAuto({ from, reason }) {
  const line = $("engine");
  if (!line.textContent.includes(reason)) line.textContent += ` Auto used WebAssembly, not ${from}: ${reason}.`;
}

// A batch goes on top, in the order it came, and is processed in that order.
function accept(files) {
  if (!files.length) return;
  const added = files.map(
    (file) =>
      new Card(file, {
        onSelect: (card) => viewer.show(card),
        onCancel: (card) => card.controller?.abort(),
        onRetry: (card) => run(card),
      }),
  );
  cards.unshift(...added);
  $("results").prepend(...added.map((card) => card.element));
  if (!viewer.current) viewer.show(added[0]);
  for (const card of added) run(card);
  updateBatch();
}

// New settings that a result can be made again with: the selected card first, then the others.
function reapply() {
  const done = cards.filter((card) => card.result || card.state === "updating");
  const first = done.filter((card) => card === viewer.current);
  for (const card of [...first, ...done.filter((card) => card !== viewer.current)]) run(card, true);
}

function updateBatch() {
  const finished = cards.filter((card) => card.result);
  const waiting = cards.filter((card) => ["queued", "working", "updating"].includes(card.state)).length;
  $("download-all").disabled = finished.length === 0;
  $("clear").disabled = cards.length === 0;
  $("batch-status").textContent = cards.length
    ? `${finished.length} of ${cards.length} done${waiting ? `, ${waiting} working` : ""}.`
    : "";
}

async function downloadAll() {
  const button = $("download-all");
  button.disabled = true;
  $("batch-status").textContent = "Packing the zip…";
  try {
    const files = cards
      .filter((card) => card.result)
      .reverse() // in the order the images were added
      .map((card) => ({ name: card.result.name, blob: card.result.blob }));
    const zip = await zipResults(files);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(zip);
    link.download = "cutouts.zip";
    link.id = "zip-link";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    $("batch-status").textContent = `Zip of ${files.length} results ready.`;
  } catch (error) {
    $("batch-status").textContent = `Could not make the zip (${error.code ?? "internal_error"}): ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function clearAll() {
  for (const card of cards.splice(0)) card.dispose();
  viewer.hide();
  updateBatch();
}

async function setUp() {
  const build = await fetch(new URL("../vendor/build.json", import.meta.url)).then((r) => r.json());
  // The model the page starts with downloads while the engine boots, so the first photo does not wait
  // (a kept one this build no longer has is passed over, not allowed to stop the engine).
  const known = (field, values) => (values.includes(initial.all[field]) ? initial.all[field] : undefined);
  remover = createRemover({
    model: known("model", build.models.map((m) => m.id)) ?? build.default_model,
    device: known("device", build.devices) ?? "auto",
    onProgress: startProgress(),
  });
  remover.ready.then(showReady, showStartFailure);
  settings = setUpSettings(build, initial, {
    onChange: (field) => {
      if (REAPPLY.has(field)) {
        settingsVersion += 1;
        reapply();
      } else if (cards.length) {
        $("batch-status").textContent = `The new ${field} applies to the images you add next, and to retries.`;
      }
    },
    onProblem: (message) => showEngine(message, true),
  });
  $("licences").textContent =
    "Model weights: " +
    build.models.map((m) => `${m.label}, ${m.licence}`).join("; ") +
    `. Runtime: Pyodide ${build.pyodide.version} (MPL-2.0), onnxruntime-web ${build.onnxruntime_web.version} (MIT), ` +
    `client-zip ${build.client_zip.version} (MIT).`;
  setUpIntake(accept);
  $("download-all").addEventListener("click", downloadAll);
  $("clear").addEventListener("click", clearAll);
}

// The page keeps itself for offline visits; the engine keeps its runtime and models on its own.
navigator.serviceWorker
  ?.register(new URL("../../sw.js", import.meta.url))
  .catch((error) => console.info(`background remover: no offline copy of this page (${error.message}).`));

setUp().catch((error) => showEngine(`Could not read the build manifest: ${error.message}`, true));

function showReady(info) {
  const threads = info.single ? `1 thread (${info.single})` : `${info.threads} threads`;
  // Which device Auto runs on, and why: said once here, not on every card.
  const gpu = info.webgpu.use ? `WebGPU on ${info.webgpu.adapter}` : `WebAssembly on the CPU (no WebGPU: ${info.webgpu.reason})`;
  $("engine-progress").value = 1;
  $("start").classList.add("ready");
  showEngine(
    `Ready: ${gpu}, ${threads}; Pyodide ${info.versions.pyodide}, onnxruntime-web ${info.versions.onnxruntime}. ` +
      `Started in ${(info.timings.pyodide + info.timings.packages + info.timings.wheel).toFixed(1)} s.`,
  );
  document.body.dataset.engine = "ready";
}

function showStartFailure(error) {
  showEngine(`The engine failed to start (${error.code ?? "boot_failed"}): ${error.message}`, true);
  document.body.dataset.engine = "failed";
}
