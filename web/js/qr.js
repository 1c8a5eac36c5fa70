// Camera QR reading: the browser's BarcodeDetector where it exists, else the vendored jsQR.
// Unreadable frames are simply skipped: the loop never stops on its own.

let jsqrLoading = null;
function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  if (!jsqrLoading) {
    jsqrLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/static/vendor/jsqr/jsQR.js";
      s.onload = () => resolve(window.jsQR);
      s.onerror = () => reject(new Error("could not load the QR decoder"));
      document.head.append(s);
    });
  }
  return jsqrLoading;
}

async function detectorFor() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const d = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => {
          const found = await d.detect(video);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch (_) { /* fall through to jsQR */ }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return null;
    const scale = Math.min(1, 640 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const code = jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  };
}

/** A badge QR may carry the bare badge ID, or a URL/JSON with it; take the ID. */
export function badgeFromCode(text) {
  const raw = String(text || "").trim();
  if (!raw) return "";
  try {
    const obj = JSON.parse(raw);
    if (obj && typeof obj === "object") return String(obj.badge_id || obj.badge || obj.id || "").trim();
  } catch (_) { /* not JSON */ }
  try {
    const url = new URL(raw);
    return url.searchParams.get("badge") || url.searchParams.get("badge_id") || url.pathname.split("/").filter(Boolean).pop() || raw;
  } catch (_) { /* not a URL */ }
  return raw;
}

/**
 * Start reading QR codes from the camera into `video`; `onCode(text)` for each code read
 * (the same code is reported again only after `repeatMs`). Returns {stop()}.
 */
export async function startCamera(video, onCode, { repeatMs = 3000, intervalMs = 150 } = {}) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" } }, audio: false,
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();
  const detect = await detectorFor();
  let running = true;
  let lastCode = "";
  let lastAt = 0;
  const loop = async () => {
    if (!running) return;
    try {
      const text = await detect(video);
      const now = Date.now();
      if (text && (text !== lastCode || now - lastAt > repeatMs)) {
        lastCode = text;
        lastAt = now;
        onCode(text);
      }
    } catch (_) {
      /* an unreadable frame: keep going */
    }
    setTimeout(loop, intervalMs);
  };
  loop();
  return {
    stop() {
      running = false;
      for (const t of stream.getTracks()) t.stop();
      video.srcObject = null;
    },
  };
}
