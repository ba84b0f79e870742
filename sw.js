// The demo page's service worker: keeps the page itself (HTML, scripts, the build manifest)
// so a second visit works offline. Network first, so a new deployment shows at once; the kept
// copy answers only when the network does not. The runtime and models are not handled here:
// the engine keeps and checks those itself (static/cache.js), for embedding sites too.
const SHELL_CACHE = "bgremove-shell-v1";
const SHELL = [
  "./",
  "index.html",
  "worker.js",
  "static/app.js",
  "static/app.css",
  "static/remover.js",
  "static/cache.js",
  "static/inference-worker.js",
  "static/vendor/build.json",
];
const scope = new URL("./", self.location.href);
const shellUrls = new Set(SHELL.map((path) => new URL(path, scope).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll([...shellUrls]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.search = "";
  const key = request.mode === "navigate" && url.href === scope.href ? scope.href : url.href;
  if (!shellUrls.has(key)) return;
  event.respondWith(networkFirst(request, key));
});

async function networkFirst(request, key) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}
