// Another site's page script: it embeds the remover from the asset host named by ?assets=.
const assets = new URLSearchParams(location.search).get("assets") ?? "http://127.0.0.1:8000/static/";
const { createRemover } = await import(new URL("client/remover.js", assets));
const $ = (id) => document.getElementById(id);
const log = (line) => ($("log").textContent += `${line}\n`);

let remover = createRemover({
  model: "u2netp",
  onProgress: ({ stage, bytes }) => stage === "model" && log(`start: model ${bytes.done}/${bytes.total}`),
});
remover.ready.then(
  (info) => {
    $("status").textContent = `Ready, ${info.threads} thread(s).`;
    document.body.dataset.ready = "yes";
  },
  (error) => ($("status").textContent = `${error.name} (${error.code}): ${error.message}`),
);

let controller;
$("file").addEventListener("change", async ({ target }) => {
  controller = new AbortController();
  $("cancel").disabled = false;
  document.body.dataset.state = "working";
  try {
    const { blob, meta } = await remover.remove(target.files[0], {
      signal: controller.signal,
      onProgress: ({ stage, bytes }) => log(bytes ? `${stage} ${bytes.done}/${bytes.total}` : stage),
    });
    $("result").src = URL.createObjectURL(blob);
    $("status").textContent = `Done: ${meta.width}×${meta.height} on ${meta.device}.`;
    document.body.dataset.state = "done";
  } catch (error) {
    $("status").textContent = `${error.name} (${error.code}): ${error.message}`;
    document.body.dataset.state = error.code;
  } finally {
    $("cancel").disabled = true;
    target.value = "";
  }
});
$("cancel").addEventListener("click", () => controller?.abort());
$("dispose").addEventListener("click", () => {
  remover.dispose();
  $("status").textContent = "Disposed.";
  document.body.dataset.state = "disposed";
});
