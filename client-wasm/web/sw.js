// Shotweave's service worker: keeps the app itself (HTML, CSS, JS, wasm) available without a
// network, so that a reload while offline opens the project from IndexedDB. The document is
// not cached here: it lives in IndexedDB and syncs over the WebSocket. Asset downloads are
// content-addressed (immutable), so they are cached as they are seen.
const BUILD = "__BUILD__";
const CACHE = `shotweave-app-${BUILD}`;
const ASSETS = "shotweave-assets";
// Every file of the bundle, listed by the build (cache-busting queries are ignored on lookup).
const SHELL = __SHELL__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k !== CACHE && k !== ASSETS).map((k) => caches.delete(k)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/sync/")) return;
  if (/^\/api\/projects\/[^/]+\/assets\/[0-9a-f]{64}$/.test(url.pathname)) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (url.pathname.startsWith("/api/") || url.pathname === "/healthz" || url.pathname === "/metrics") {
    return;
  }
  event.respondWith(networkFirst(request));
});

// The app shell: fresh from the server when it answers, from the cache when it does not.
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    if (request.mode === "navigate") {
      const shell = await cache.match("/");
      if (shell) return shell;
    }
    throw error;
  }
}

// Assets never change under their URL; the token in the query does not change the bytes.
async function cacheFirst(request) {
  const cache = await caches.open(ASSETS);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}
