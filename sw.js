// The demo page's service worker: keeps the page itself (its HTML and scripts, as the build
// manifest lists them, and the manifest) so a second visit works offline. Network first, so a new
// deployment shows at once; the kept copy answers only when the network does not. The runtime and
// models are not handled here: the engine keeps and checks those itself (static/engine/store.js),
// for embedding sites too.
const SHELL_CACHE = "bgremove-shell-v1";
const scope = new URL("./", self.location.href);
const vendor = new URL("static/vendor/", scope).href;
const manifest = new URL("build.json", vendor).href;

const ownStatic = new URL("static/", scope).href;
// The page's zip writer: the one vendored module that is the page's, not the engine's (build.json's site lists it).
const zipWriter = new URL("client-zip/", vendor).href;
// The page's files: the top-level ones the site is made of, static/ but for the engine's vendor/, the manifest.
const topLevel = new Set(["", "index.html", "worker.js"].map((path) => new URL(path, scope).href));
const isShell = (href) =>
  topLevel.has(href) ||
  href === manifest ||
  href.startsWith(zipWriter) ||
  (href.startsWith(ownStatic) && !href.startsWith(vendor));

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const { site } = await (await fetch(manifest, { cache: "no-cache" })).json();
      const cache = await caches.open(SHELL_CACHE);
      await cache.addAll([scope.href, manifest, ...site.map((path) => new URL(path, scope).href)]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.search = "";
  if (!isShell(url.href)) return;
  event.respondWith(networkFirst(request, url.href));
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
