// Shared helpers for every Rollcall page. Everything shown goes through textContent:
// names arrive from registration systems and are never parsed as HTML.

export const $ = (sel, root = document) => root.querySelector(sel);

/** el("button", {class: "x", onclick: fn}, "text", child) -> element. Strings become text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "text") {
      node.textContent = value;
    } else if (key in node && typeof value !== "string") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function show(node, yes = true) {
  node.classList.toggle("hidden", !yes);
}

export function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

/** A random key (works on plain-http LAN addresses, where crypto.randomUUID is missing). */
export function newKey(prefix = "web") {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Call the hub with the browser's cookies. Never throws: answers
 * {ok, status, data, reason, message, network}. Unsafe methods carry the CSRF token.
 */
export async function api(method, url, body, { timeoutMs = 10000 } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = cookie("rollcall_csrf");
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: ctrl.signal,
    });
    let payload = null;
    const type = res.headers.get("content-type") || "";
    if (type.includes("json")) payload = await res.json().catch(() => null);
    if (res.ok) return { ok: true, status: res.status, data: payload ? payload.data : null };
    return {
      ok: false,
      status: res.status,
      reason: payload && payload.reason,
      message: (payload && payload.message) || `The hub answered ${res.status}.`,
      field: payload && payload.field,
      retryAfter: Number(res.headers.get("retry-after")) || null,
      data: null,
    };
  } catch (err) {
    return { ok: false, status: 0, network: true, message: "No connection to the hub. Retrying…" };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A door action that may be retried: the same idempotency key rides every attempt, so a
 * double tap or a flaky network never checks anyone in twice. Retries only when the
 * answer never came (network, timeout) or the hub was briefly unavailable (502-504).
 */
export async function doorPost(url, body, { attempts = 4, onRetry } = {}) {
  const payload = { ...body, idempotency_key: body.idempotency_key || newKey() };
  let last = null;
  for (let i = 0; i < attempts; i++) {
    last = await api("POST", url, payload);
    if (!(last.network || [502, 503, 504].includes(last.status))) return last;
    if (onRetry) onRetry(i + 1);
    await sleep(400 * 2 ** i);
  }
  return last;
}

let eventInfo = null;
/** The event's name, identification labels and refusal words (GET /ui/event), once. */
export async function event() {
  if (!eventInfo) {
    const r = await api("GET", "/ui/event");
    eventInfo = r.ok ? r.data : { name: "Rollcall", identify_with: [], reasons: {} };
  }
  return eventInfo;
}

/**
 * Words for a 429 (too many wrong tries): the hub's message with the clock time to try again
 * ("… Try again in 15 minutes, at 14:32."); ``button`` stays disabled until then.
 */
export function tooMany(result, button) {
  const seconds = result.retryAfter || 60;
  const at = new Date(Date.now() + seconds * 1000)
    .toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  if (button) {
    button.disabled = true;
    button.dataset.heldUntil = String(Date.now() + seconds * 1000);
    setTimeout(() => { button.disabled = false; delete button.dataset.heldUntil; }, seconds * 1000);
  }
  return `${(result.message || "Too many wrong tries.").replace(/\.$/, "")}, at ${at}.`;
}

/** Plain words for a failed answer: the hub's message, else the reason table, else generic. */
export function words(result, reasons = {}) {
  if (result.message) return result.message;
  if (result.reason && reasons[result.reason]) return reasons[result.reason];
  return "Something went wrong. Please try again.";
}

export async function me() {
  const r = await api("GET", "/auth/me");
  return r.ok ? r.data : { staff: null, kiosk: null, attendee: null };
}

export function can(staff, permission) {
  if (!staff) return false;
  return staff.permissions.includes("admin") || staff.permissions.includes(permission);
}

/** A labelled staff sign-in form. Resolves with the staff object once signed in. */
export function staffLogin(container, { title = "Staff sign-in", note, url = "/auth/staff",
  extra = {}, button = "Sign in" } = {}) {
  return new Promise((resolve) => {
    const msg = el("div", { class: "notice bad hidden", role: "alert" });
    const email = el("input", { type: "email", id: "login-email", autocomplete: "username",
      required: true });
    const password = el("input", { type: "password", id: "login-password",
      autocomplete: "current-password", required: true });
    const submit = el("button", { type: "submit", class: "big" }, button);
    const form = el("form", { class: "card stack", "aria-labelledby": "login-title" },
      el("h1", { id: "login-title" }, title),
      note ? el("p", { class: "muted" }, note) : null,
      el("div", {}, el("label", { for: "login-email" }, "Email"), email),
      el("div", {}, el("label", { for: "login-password" }, "Password"), password),
      msg, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      const r = await api("POST", url, { email: email.value, password: password.value, ...extra });
      submit.disabled = false;
      if (r.ok) {
        resolve(r.data);
      } else {
        msg.textContent = words(r);
        show(msg);
        password.select();
      }
    });
    clear(container).append(form);
    email.focus();
  });
}

/**
 * A dashboard's sign-in: a staff account, or a moderator password (kept in sessionStorage
 * under ``storageKey`` for this tab). Resolves with the password, or null once staff signed in.
 */
export function moderatorSignIn(container, { storageKey, heading, label, title, note }) {
  const staffBox = el("div");
  const pw = el("input", { type: "password", id: "moderator-password", autocomplete: "off" });
  const modForm = el("form", { class: "card stack", id: "moderator-form" },
    el("h2", {}, heading),
    el("div", {}, el("label", { for: "moderator-password" }, label), pw),
    el("button", { type: "submit", class: "secondary" }, "Open dashboard"));
  clear(container).append(staffBox, modForm);
  return new Promise((resolve) => {
    staffLogin(staffBox, { title, note }).then(() => resolve(null));
    modForm.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!pw.value) return;
      sessionStorage.setItem(storageKey, pw.value);
      resolve(pw.value);
    });
  });
}

/**
 * Who watches a dashboard: staff with the moderate or scan permission, else whoever knows a
 * moderator password (asked with `signIn`, kept in sessionStorage under `storageKey`). Fills
 * the #who bar with a sign-out. Returns {staff, password}, or null while the page reloads.
 */
export async function dashboardViewer(who, storageKey, signIn) {
  const staff = !!(who.staff && (can(who.staff, "moderate") || can(who.staff, "scan")));
  let password = staff ? null : sessionStorage.getItem(storageKey);
  if (!staff && !password) {
    password = await signIn(who);
    if (!password) {
      location.reload();
      return null;
    }
  }
  if (who.staff) {
    $("#who").append(el("span", {}, who.staff.email + " "), el("button", { class: "link", type: "button", onclick: logout }, "Sign out"));
  } else {
    $("#who").append(el("button", { class: "link", type: "button", onclick: () => {
      sessionStorage.removeItem(storageKey);
      location.reload();
    } }, "Sign out"));
  }
  return { staff, password };
}

/**
 * A dashboard's Live `state` handler: `show` the state; when a password view is stopped
 * (wrong password, too many tries), forget the password and offer to sign in again.
 */
export function dashboardState(container, show, storageKey, password) {
  return (st, detail) => {
    show(st, detail);
    if (st === "stopped" && password) {
      sessionStorage.removeItem(storageKey);
      container.prepend(el("p", { class: "notice bad", role: "alert" }, `${detail}. `,
        el("a", { href: location.pathname }, "Sign in again")));
    }
  };
}

export async function logout() {
  await api("POST", "/auth/logout");
  location.reload();
}

/** A polite live region for screen readers. */
export function announce(text) {
  let region = document.getElementById("announcer");
  if (!region) {
    region = el("div", { id: "announcer", class: "sr-only", "aria-live": "polite" });
    document.body.append(region);
  }
  region.textContent = text;
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function fmtClock(hhmmss) {
  return hhmmss ? hhmmss.slice(0, 5) : "";
}

export function fmtDate(ymd) {
  if (!ymd) return "";
  const d = new Date(ymd + "T12:00:00");
  return d.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}

export function personName(p) {
  if (!p) return "Someone";
  const name = [p.first_name, p.last_name].filter(Boolean).join(" ");
  return name || p.email || p.external_id || p.badge_id || "Someone";
}

/** Short feedback at the door: a beep (Web Audio) and a vibration where the device has one. */
let audio = null;
export function feedback(good) {
  try {
    if (navigator.vibrate) navigator.vibrate(good ? 80 : [120, 80, 120]);
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = good ? 880 : 220;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (good ? 0.12 : 0.35));
  } catch (_) {
    /* no audio: the colour says it */
  }
}
