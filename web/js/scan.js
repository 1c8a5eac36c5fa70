// Staff scanner (/staff/scan): pick a session, read badge QR codes continuously or type a
// badge ID; each scan is admitted (green) or refused (red, with the reason). Staff holding
// the override permission may admit anyway, giving a reason. Nothing here ever stops the
// scanner: a refusal, an unreadable code or a network hiccup only shows on the result line.
import {
  $, api, can, clear, doorPost, el, feedback, logout, me, newKey, personName, show, staffLogin, words,
} from "./common.js";
import { Live, indicator } from "./live.js";
import { badgeFromCode, startCamera } from "./qr.js";

const app = $("#app");
let staff = null;
let reasons = {}; // code -> {message, overridable}
let session = null;
let live = null;
let camera = null;
let queue = Promise.resolve();
let lastRefusal = null; // {badge, mode, reason}

// Scans that never reached the hub (Wi-Fi gone) wait here, in this device's storage, with
// their own time and idempotency key; they are sent when the hub answers again. A retry can
// never admit anyone twice, and the record keeps when the scan really happened.
const QUEUE_KEY = "rollcall.scan.pending";
const pending = () => JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
const savePending = (list) => localStorage.setItem(QUEUE_KEY, JSON.stringify(list));
let flushing = false;

function showPending() {
  const n = pending().length;
  const box = $("#pending");
  if (!box) return;
  box.textContent = n ? `${n} scan${n > 1 ? "s" : ""} waiting for the connection…` : "";
  show(box, n > 0);
}

async function flushPending() {
  if (flushing) return;
  flushing = true;
  try {
    for (const item of pending()) {
      const res = await api("POST", `/api/v2/sessions/${encodeURIComponent(item.session)}/attendance/${item.mode}`, item.body);
      if (res.network || [502, 503, 504].includes(res.status)) break; // still away: later
      savePending(pending().filter((x) => x.body.idempotency_key !== item.body.idempotency_key));
      const what = item.mode === "checkin" ? "in" : "out";
      if (res.ok) {
        if (session && item.session === session.id) setCounts(res.data.counts);
        logScan(true, `${item.body.badge_id}: sent late, checked ${what}`);
      } else {
        logScan(false, `${item.body.badge_id}: sent late, ${words(res)}`);
      }
    }
  } finally {
    flushing = false;
    showPending();
  }
}

function reasonWords(code) {
  return reasons[code] ? reasons[code].message : "";
}

function setCounts(c) {
  if (!c) return;
  $("#c-registered").textContent = c.registered;
  $("#c-in-room").textContent = c.in_room;
  $("#c-capacity").textContent = c.capacity ?? "—";
}

function showResult(ok, title, why) {
  const box = $("#result");
  box.className = "result " + (ok ? "ok" : "bad");
  box.dataset.outcome = ok ? "admitted" : "refused";
  clear(box).append(el("div", { id: "result-title" }, title), why ? el("div", { class: "why", id: "result-why" }, why) : null);
  feedback(ok);
}

function logScan(ok, text) {
  const list = $("#recent");
  list.prepend(el("li", {}, el("span", { class: ok ? "in" : "out" }, ok ? "✓ " : "✗ "), text,
    el("time", {}, new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }))));
  while (list.children.length > 12) list.lastChild.remove();
}

/** One scan, in order: scans queue behind each other, so counts and results stay readable. */
function submit(badge, { override = false, overrideReason = null } = {}) {
  badge = String(badge || "").trim();
  if (!badge || !session) return;
  queue = queue.then(() => doScan(badge, override, overrideReason)).catch(() => {});
}

async function doScan(badge, override, overrideReason) {
  const mode = document.querySelector("input[name=mode]:checked").value;
  const body = { badge_id: badge, source: "scan", idempotency_key: newKey("scan") };
  if (override) {
    body.override = true;
    body.override_reason = overrideReason;
  }
  show($("#override-box"), false);
  body.timestamp = new Date().toISOString();
  const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(session.id)}/attendance/${mode}`, body,
    { attempts: 2 });
  if (res.network || [502, 503, 504].includes(res.status)) {
    savePending([...pending(), { session: session.id, mode, body }]);
    const box = $("#result");
    box.className = "result idle";
    box.dataset.outcome = "queued";
    clear(box).append(el("div", { id: "result-title" }, `Saved: ${badge}`),
      el("div", { class: "why", id: "result-why" }, "No connection. It will be sent when the hub is back."));
    feedback(false);
    showPending();
    return;
  }
  if (res.ok) {
    const d = res.data || {};
    setCounts(d.counts);
    const name = d.record && d.record.user ? personName(d.record.user) : badge;
    const title = mode === "checkin" ? (override ? `Admitted (override): ${name}` : `Admitted: ${name}`) : `Checked out: ${name}`;
    showResult(true, title, d.record && d.record.user ? `Badge ${badge}` : "");
    logScan(true, `${name} (${badge})`);
    lastRefusal = null;
    return;
  }
  const why = words(res, Object.fromEntries(Object.entries(reasons).map(([k, v]) => [k, v.message])));
  showResult(false, res.network ? "No connection" : `Refused: ${badge}`, why);
  logScan(false, `${badge}: ${why}`);
  lastRefusal = { badge, reason: res.reason };
  const overridable = mode === "checkin" && res.reason && reasons[res.reason] && reasons[res.reason].overridable;
  if (overridable && can(staff, "override")) {
    $("#override-reason").value = "";
    show($("#override-box"));
    show($("#override-form"), false);
  }
}

function pickSession(list) {
  const select = el("select", { id: "session" }, el("option", { value: "" }, "Choose a session…"),
    list.map((s) => el("option", { value: s.id }, `${s.start_time ? s.start_time.slice(0, 5) + " " : ""}${s.name}${s.location ? " · " + s.location : ""}`)));
  select.addEventListener("change", () => {
    const s = list.find((x) => x.id === select.value);
    if (s) useSession(s);
  });
  return select;
}

function useSession(s) {
  session = s;
  localStorage.setItem("rollcall.scan.session", s.id);
  const url = new URL(location.href);
  url.searchParams.set("session", s.id);
  history.replaceState(null, "", url);
  $("#session").value = s.id;
  $("#session-name").textContent = s.name;
  setCounts(s.counts);
  show($("#scanner"));
  if (live) live.stop();
  live = new Live(`/ws/sessions/${encodeURIComponent(s.id)}`, {
    snapshot: (m) => setCounts(m.counts),
    message: (m) => setCounts(m.counts || (m.type === "counts" ? m : null)),
    state: indicator($("#live")),
  }).start();
  $("#badge").focus();
}

async function toggleCamera() {
  const btn = $("#camera");
  if (camera) {
    camera.stop();
    camera = null;
    btn.textContent = "Start camera";
    show($("#video"), false);
    return;
  }
  try {
    show($("#video"));
    camera = await startCamera($("#video"), (text) => {
      const badge = badgeFromCode(text);
      if (badge) submit(badge);
    });
    btn.textContent = "Stop camera";
  } catch (err) {
    show($("#video"), false);
    showResult(false, "Camera unavailable", "Allow the camera, or type badge IDs below.");
  }
}

function build(list) {
  const badge = el("input", { type: "text", id: "badge", autocomplete: "off", autocapitalize: "characters",
    inputmode: "text", enterkeyhint: "go" });
  const form = el("form", { class: "row", id: "badge-form" },
    el("div", {}, el("label", { for: "badge" }, "Badge ID"), badge),
    el("button", { type: "submit" }, "Submit"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(badge.value);
    badge.value = "";
    badge.focus();
  });
  const overrideReason = el("input", { type: "text", id: "override-reason", required: true, maxlength: 300 });
  const overrideForm = el("form", { class: "stack hidden", id: "override-form" },
    el("div", {}, el("label", { for: "override-reason" }, "Why admit anyway?"), overrideReason),
    el("button", { type: "submit", class: "danger" }, "Admit anyway"));
  overrideForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!lastRefusal || !overrideReason.value.trim()) return;
    submit(lastRefusal.badge, { override: true, overrideReason: overrideReason.value.trim() });
  });
  const overrideBtn = el("button", { type: "button", class: "danger", id: "override" }, "Override");
  overrideBtn.addEventListener("click", () => {
    show(overrideForm);
    overrideReason.focus();
  });
  clear(app).append(
    el("div", { class: "card" }, el("label", { for: "session" }, "Session"), pickSession(list)),
    el("section", { id: "scanner", class: "stack hidden" },
      el("div", { class: "counter", "aria-label": "Live counts" },
        el("div", {}, el("div", { class: "n", id: "c-registered" }, "–"), "Registered"),
        el("div", {}, el("div", { class: "n", id: "c-in-room" }, "–"), "In room"),
        el("div", {}, el("div", { class: "n", id: "c-capacity" }, "–"), "Capacity")),
      el("div", { class: "titlebar" }, el("h1", { id: "session-name" }), el("div", {}, el("span", { class: "live", id: "live" }, "Connecting…"))),
      el("fieldset", { class: "modes" }, el("legend", {}, "Mode"),
        el("label", { class: "check" }, el("input", { type: "radio", name: "mode", value: "checkin", checked: true }), "Check in"),
        el("label", { class: "check" }, el("input", { type: "radio", name: "mode", value: "checkout" }), "Check out")),
      el("div", { id: "result", class: "result idle", role: "status", "aria-live": "assertive" }, "Ready to scan"),
      el("div", { id: "pending", class: "notice warn hidden", role: "status" }),
      el("div", { id: "override-box", class: "card stack hidden" }, overrideBtn, overrideForm),
      el("div", { class: "card stack" },
        el("button", { type: "button", id: "camera", class: "secondary", onclick: toggleCamera }, "Start camera"),
        el("video", { id: "video", class: "cam hidden", "aria-label": "Camera" }),
        form),
      el("h2", {}, "Recent scans"),
      el("ol", { id: "recent", class: "feed card" })));
}

async function main() {
  const who = await me();
  if (!who.staff || !can(who.staff, "scan")) {
    await staffLogin(app, { title: "Sign in to scan",
      note: who.staff ? "This account lacks the scan permission." : "Staff with the scan permission." });
    location.reload();
    return;
  }
  staff = who.staff;
  $("#who").append(el("span", {}, staff.email + " "), el("button", { class: "link", type: "button", onclick: logout }, "Sign out"));
  const [sessions, rs] = await Promise.all([api("GET", "/ui/staff/sessions"), api("GET", "/api/v2/reasons")]);
  if (rs.ok) reasons = rs.data;
  if (!sessions.ok) {
    clear(app).append(el("p", { class: "notice bad" }, words(sessions)));
    return;
  }
  build(sessions.data);
  const wanted = new URL(location.href).searchParams.get("session") || localStorage.getItem("rollcall.scan.session");
  const s = sessions.data.find((x) => x.id === wanted);
  if (s) useSession(s);
  showPending();
  flushPending();
  setInterval(flushPending, 5000);
  window.addEventListener("online", flushPending);
}

main();
