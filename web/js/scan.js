// Staff scanner (/staff/scan): pick a session, read badge QR codes continuously or type a
// badge ID; each scan is admitted (green) or refused (red, with the reason). Staff holding
// the override permission may admit anyway, giving a reason. Nothing here ever stops the
// scanner: a refusal, an unreadable code or a network hiccup only shows on the result line.
import {
  $, api, can, clear, doorPost, el, feedback, logout, me, newKey, personName, show, staffLogin, words,
} from "./common.js";
import { Live, indicator } from "./live.js";
import {
  DoorList, currentLease, decide, enqueue, leaseSize, pending, returnLease, saveLease, takeLease, upload,
} from "./offline.js";
import { badgeFromCode, startCamera } from "./qr.js";

const app = $("#app");
let staff = null;
let reasons = {}; // code -> {message, overridable}
let session = null;
let live = null;
let camera = null;
let queue = Promise.resolve();
let lastRefusal = null; // {badge, mode, reason}

// Offline (Wi-Fi gone), scans are decided here from the door list by the hub's rules and the
// admissions and check-outs wait in this device's storage, each with its own time and
// idempotency key, until the hub answers again; then they go up in one batch. A retry can
// never admit anyone twice, and the record keeps when the scan really happened. Capacity
// offline comes from a seat lease (taken by hand, or by itself when the network looks poor).
let flushing = false;
let offline = false; // the hub did not answer: decide here until it does
let wasOffline = false;
let doorList = null;
const arrivals = []; // times of recent admissions (the size of an automatic lease)
const SLOW_MS = 1500;

function setOffline(yes) {
  offline = yes;
  if (yes) wasOffline = true;
  const box = $("#offline");
  if (box) show(box, yes);
  showPending();
}

function showPending() {
  const n = pending().length;
  const box = $("#pending");
  if (!box) return;
  box.textContent = n ? `${n} scan${n > 1 ? "s" : ""} waiting to upload` : "";
  box.dataset.count = String(n);
  show(box, n > 0);
}

function showLease() {
  const box = $("#lease-status");
  if (!box || !session) return;
  const lease = currentLease(session.id);
  box.textContent = lease ? `Seats held for offline: ${lease.seats - lease.used} of ${lease.seats} left`
    : "No seats held for offline.";
  box.dataset.left = lease ? String(lease.seats - lease.used) : "0";
}

function judgedDifferently(item, answer) {
  const list = $("#judged");
  const badge = item.body.badge_id;
  const hub = answer.code === "200" ? "admitted" : (answer.message || reasonWords(answer.reason) || answer.reason);
  list.prepend(el("li", { "data-reason": answer.reason || "ok" },
    `${badge}: ${item.mode === "checkin" ? "checked in" : "checked out"} here offline; the hub says: ${hub}`));
  show($("#judged-box"));
}

async function flushPending() {
  if (flushing) return;
  flushing = true;
  try {
    if (!pending().length) {
      if (offline) {
        const res = await fetch("/healthz", { cache: "no-store" }).catch(() => null);
        if (res) setOffline(false);
      }
    } else {
      const outcome = await upload((item, answer) => {
        const ok = answer.code === "200";
        if (ok && session && item.session === session.id) setCounts(answer.data.counts);
        if (item.body.decided === "ok" && !ok) judgedDifferently(item, answer);
        const what = item.mode === "checkin" ? "in" : "out";
        logScan(ok, ok ? `${item.body.badge_id}: uploaded, checked ${what}`
          : `${item.body.badge_id}: uploaded, ${answer.message || answer.reason}`);
      });
      if (outcome === "offline") return;
      setOffline(false);
      if (outcome !== "done") logScan(false, `Upload refused: ${outcome.message}`);
    }
    if (!offline && wasOffline && !pending().length && session) {
      wasOffline = false;
      await returnLease(session.id);
      showLease();
      if (doorList) await doorList.refresh();
    }
  } finally {
    flushing = false;
    showPending();
  }
}

/** The network looks poor: hold seats for offline, sized from the recent arrivals. */
async function autoLease() {
  if (!session || !doorList || !doorList.settings) return;
  const st = doorList.settings;
  if (st.capacity === null || !st.leasing || currentLease(session.id)) return;
  await takeLease(session.id, leaseSize(arrivals));
  showLease();
}

/** Decide here, from the door list, as the hub would; queue what was done. */
function decideOffline(badge, mode) {
  const settings = doorList && doorList.settings;
  if (!settings) {
    showResult(false, `Not checked: ${badge}`, "No door list on this device yet: connect once to get it.");
    logScan(false, `${badge}: no door list`);
    return;
  }
  const person = doorList.find(badge);
  const lease = currentLease(session.id);
  const reason = decide(settings, person, mode, lease);
  if (reason) {
    const why = reasonWords(reason);
    showResult(false, `Refused: ${badge}`, why + " (decided offline)");
    logScan(false, `${badge}: ${why}`);
    return;
  }
  const body = { badge_id: badge, source: "scan", decided: "ok" };
  if (mode === "checkin" && settings.capacity !== null && lease) {
    body.lease_id = lease.id;
    lease.used += 1;
    saveLease(session.id, lease);
    showLease();
  }
  enqueue(session.id, mode, body);
  doorList.mark(person, mode);
  if (mode === "checkin") arrivals.push(Date.now());
  const name = personName(person);
  showResult(true, mode === "checkin" ? `Admitted (offline): ${name}` : `Checked out (offline): ${name}`,
    `Badge ${badge} · saved, uploads when the hub is back`);
  logScan(true, `${name} (${badge}), offline`);
  showPending();
}

function reasonWords(code) {
  return reasons[code] ? reasons[code].message : "";
}

function setCounts(c) {
  if (!c) return;
  $("#c-registered").textContent = c.registered;
  $("#c-in-room").textContent = c.in_room;
  $("#c-capacity").textContent = c.capacity ?? "—";
  const leased = $("#c-leased");
  if (leased) leased.textContent = c.leased ? `${c.leased} seats held by offline doors` : "";
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
  if (offline || navigator.onLine === false) {
    show($("#override-box"), false);
    setOffline(true);
    decideOffline(badge, mode);
    return;
  }
  const body = { badge_id: badge, source: "scan", idempotency_key: newKey("scan") };
  if (override) {
    body.override = true;
    body.override_reason = overrideReason;
  }
  show($("#override-box"), false);
  body.timestamp = new Date().toISOString();
  const started = Date.now();
  let retried = false;
  const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(session.id)}/attendance/${mode}`, body,
    { attempts: 2, onRetry: () => { retried = true; } });
  if (res.network || [502, 503, 504].includes(res.status)) {
    setOffline(true);
    decideOffline(badge, mode);
    return;
  }
  if (retried || Date.now() - started > SLOW_MS) autoLease();
  if (res.ok) {
    const d = res.data || {};
    setCounts(d.counts);
    if (doorList && d.record && d.record.user) {
      doorList.mark(doorList.find(d.record.user.badge_id || badge), mode);
    }
    if (mode === "checkin") arrivals.push(Date.now());
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
  showLease();
  doorList = new DoorList(s.id);
  const list = doorList;
  list.load().then(() => list.refresh()).then((reached) => {
    if (list === doorList) $("#doorlist-status").textContent = list.data
      ? `Door list: ${list.data.attendees.length} attendees` : "No door list yet.";
    if (reached === false && !navigator.onLine) setOffline(true);
  });
  if (live) live.stop();
  live = new Live(`/ws/sessions/${encodeURIComponent(s.id)}`, {
    snapshot: (m) => setCounts(m.counts),
    message: (m) => {
      setCounts(m.counts || (m.type === "counts" ? m : null));
      if (doorList === list) list.applyLive(m);
    },
    state: indicator($("#live")),
  }).start();
  $("#badge").focus();
}

async function holdSeats() {
  if (!session) return;
  const n = parseInt($("#lease-seats").value, 10);
  if (!(n > 0)) return;
  await returnLease(session.id);
  const res = await takeLease(session.id, n);
  showLease();
  if (!res.ok) $("#lease-status").textContent = words(res, Object.fromEntries(Object.entries(reasons).map(([k, v]) => [k, v.message])));
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
      el("div", { id: "offline", class: "notice bad hidden", role: "status" }, "Offline: deciding here from the door list"),
      el("div", { id: "pending", class: "notice warn hidden", role: "status" }),
      el("div", { id: "judged-box", class: "card hidden" }, el("h2", {}, "Judged differently by the hub"),
        el("ul", { id: "judged" }),
        el("a", { href: "/staff/review", id: "review-link" }, "Review every door conflict")),
      el("div", { id: "override-box", class: "card stack hidden" }, overrideBtn, overrideForm),
      el("div", { class: "card stack" },
        el("button", { type: "button", id: "camera", class: "secondary", onclick: toggleCamera }, "Start camera"),
        el("video", { id: "video", class: "cam hidden", "aria-label": "Camera" }),
        form),
      el("div", { class: "card stack", id: "lease" },
        el("p", { id: "lease-status", class: "muted" }),
        el("p", { id: "c-leased", class: "muted" }),
        el("form", { class: "row", id: "lease-form", onsubmit: (e) => { e.preventDefault(); holdSeats(); } },
          el("div", {}, el("label", { for: "lease-seats" }, "Seats to hold for offline"),
            el("input", { type: "number", id: "lease-seats", min: 1, max: 500, value: 5 })),
          el("button", { type: "submit", class: "secondary", id: "lease-take" }, "Hold seats")),
        el("p", { id: "doorlist-status", class: "muted" })),
      el("h2", {}, "Recent scans"),
      el("ol", { id: "recent", class: "feed card" })));
}

async function main() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
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
  setInterval(flushPending, 3000);
  setInterval(() => { if (!offline && doorList) doorList.refresh(); }, 60000);
  window.addEventListener("online", flushPending);
  window.addEventListener("offline", () => setOffline(true));
}

main();
