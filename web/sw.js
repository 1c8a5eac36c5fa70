// The door pages' service worker (/staff/scan and /kiosk/{id}): they open and work with the
// network down. Every asset they need is cached on install (all from this origin: no CDN);
// pages, assets and the few reads a door page makes on start are fetched from the network
// first, so they stay current, and answered from the cache when the network is gone. Door
// actions (POST) are never cached or replayed here: the page queues them itself.
const CACHE = "rollcall-door-v1";
const ASSETS = [
  "/staff/scan",
  "/static/css/app.css",
  "/static/favicon.svg",
  "/static/js/common.js",
  "/static/js/live.js",
  "/static/js/offline.js",
  "/static/js/qr.js",
  "/static/js/scan.js",
  "/static/js/kiosk.js",
  "/static/vendor/jsqr/jsQR.js",
  "/staff/scan.webmanifest",
];
// Reads a door page makes when it starts (who is signed in, the sessions, the reasons).
const READS = ["/auth/me", "/ui/event", "/ui/staff/sessions", "/api/v2/reasons"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function cached(url) {
  if (url.origin !== self.location.origin) return false;
  const p = url.pathname;
  return p === "/staff/scan" || p.startsWith("/kiosk/") || p.startsWith("/static/")
    || p.endsWith(".webmanifest") || READS.includes(p) || p.startsWith("/ui/sessions/");
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (!cached(url)) return;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(req, copy));
    }
    return res;
  }).catch(() => caches.match(req, { ignoreSearch: url.pathname === "/staff/scan" })
    .then((hit) => hit || Response.error())));
});
