// A site's own code, bundled by Vite with no configuration. remover.js is bundled with it
// (tests/test_vite.py copies static/client/ and static/shared/ to src/bgremove/); the worker, runtime and models stay where
// they are hosted, named by assetsUrl (here from ?assets=, as a site would write its own URL).
import { createRemover } from "./bgremove/client/remover.js";

const assetsUrl = new URLSearchParams(location.search).get("assets");
const remover = createRemover({ assetsUrl, model: "u2netp" });
const status = document.getElementById("status");

remover.ready.then(
  () => (status.textContent = "Ready."),
  (error) => (status.textContent = `${error.code}: ${error.message}`),
);

document.getElementById("file").addEventListener("change", async ({ target }) => {
  try {
    const { blob, meta } = await remover.remove(target.files[0]);
    document.getElementById("result").src = URL.createObjectURL(blob);
    status.textContent = `Done: ${meta.width}×${meta.height}, ${meta.model} on ${meta.device}.`;
  } catch (error) {
    status.textContent = `${error.code}: ${error.message}`;
  }
});
