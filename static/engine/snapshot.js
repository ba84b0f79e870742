// Runs in the engine worker: Pyodide's memory just after its interpreter booted, kept in Cache Storage so
// that a later start restores it (0.2 s in Chromium) instead of booting again (1.1–1.5 s; docs/bench.md).
// Pyodide 0.27 snapshots hold the bare interpreter: numpy, Pillow and our wheel load after the restore
// as before. A snapshot is made once, after a start that had none, by an interpreter of its own: with
// _makeSnapshot Pyodide puts globalThis behind a proxy that some calls from Python do not survive.
// It is only good for the one Pyodide build it was made by, hence the key; like every cached file it
// is checked against its sha256 (recorded beside it) before use, and dropped when it does not match.
import { digest, openStore } from "./store.js";

function key(vendor, build) {
  const wasm = build.runtime.find((file) => file.path.endsWith("pyodide.asm.wasm"));
  return `${vendor}pyodide/memory-snapshot-${wasm.sha256.slice(0, 16)}.bin`;
}

// The store's Cache Storage (null where there is none: no snapshot either).
const cache = async () => (await openStore()).cache;

// The kept snapshot, checked, as {bytes, forget()}; null when there is none (or it was damaged).
export async function keptSnapshot(vendor, build) {
  const store = await cache();
  const url = key(vendor, build);
  const hit = await store?.match(url);
  if (!hit) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  const forget = () => store.delete(url);
  if ((await digest(bytes)) !== hit.headers.get("x-sha256")) {
    await forget();
    return null;
  }
  return { bytes, forget };
}

// Make a snapshot with a throwaway interpreter and keep it for the next start.
export async function keepSnapshot(vendor, build, loadPyodide, indexURL) {
  const store = await cache();
  if (!store) return;
  const maker = await loadPyodide({ indexURL, _makeSnapshot: true });
  const bytes = maker.makeMemorySnapshot();
  const headers = { "content-type": "application/octet-stream", "x-sha256": await digest(bytes) };
  await store.put(key(vendor, build), new Response(bytes, { headers }));
}
