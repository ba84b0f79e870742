// Runs in the engine's workers: runtime and model files kept in Cache Storage between visits.
// Every file is checked against the sha256 the build recorded before it is used, whether it came
// from the cache or the network: a damaged cached copy is discarded and fetched again, a damaged
// download is refused. The engine worker loads Python's runtime through it, the inference worker
// onnxruntime-web and the models.

export const CACHE_NAME = "bgremove-v1";

export class IntegrityError extends Error {
  name = "IntegrityError";
}

// Where Cache Storage is missing (an opaque origin, some private modes) files come from the network, still checked.
export async function openStore(fetchImpl = self.fetch.bind(self)) {
  let cache = null;
  try {
    cache = await caches.open(CACHE_NAME);
  } catch {
    cache = null;
  }
  return new VerifiedStore(cache, fetchImpl);
}

class VerifiedStore {
  constructor(cache, fetchImpl) {
    this.cache = cache;
    this.fetch = fetchImpl;
  }

  // The file at url, as {bytes: Uint8Array, type}. onBytes(done, total, cached) follows a download
  // (cached: the file came from Cache Storage, so the whole of it at once).
  async load(url, sha256, onBytes = () => {}) {
    const hit = await this.cache?.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if ((await digest(bytes)) === sha256) {
        onBytes(bytes.length, bytes.length, true);
        return { bytes, type: hit.headers.get("content-type") ?? "" };
      }
      await this.cache.delete(url);
    }
    const response = await this.fetch(url);
    if (!response.ok) throw new Error(`Could not download ${url}: HTTP ${response.status}.`);
    const bytes = await readAll(response, onBytes);
    const actual = await digest(bytes);
    if (actual !== sha256) {
      throw new IntegrityError(
        `${url} failed its checksum: expected sha256 ${sha256}, got ${actual}. ` +
          "The file on the server is damaged or not this build's.",
      );
    }
    const type = response.headers.get("content-type") ?? "";
    await this.cache?.put(url, new Response(bytes, { headers: { "content-type": type } }));
    return { bytes, type };
  }

  // A JSON document that decides what the other files must be (the build manifest): the
  // network's copy when there is a network, else the one kept from the last visit.
  async loadFresh(url) {
    try {
      const response = await this.fetch(url, { cache: "no-cache" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      const manifest = JSON.parse(text);
      await this.cache?.put(url, new Response(text, { headers: { "content-type": "application/json" } }));
      return manifest;
    } catch (error) {
      const kept = await this.cache?.match(url);
      if (kept) return kept.json();
      throw new Error(`Could not load ${url} (${error.message}), and no copy is kept from an earlier visit.`);
    }
  }
}

async function readAll(response, onBytes) {
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let done = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    chunks.push(chunk.value);
    done += chunk.value.length;
    onBytes(done, Math.max(total, done), false);
  }
  const bytes = new Uint8Array(done);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

export async function digest(bytes) {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
