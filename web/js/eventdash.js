// Event dashboard (/staff/dashboard): every session's live counts in one sortable table,
// near-capacity rooms highlighted, fed by /ws/event.
import { $, api, clear, dashboardState, dashboardViewer, el, me, moderatorSignIn, words } from "./common.js";
import { Live, indicator } from "./live.js";

const app = $("#app");
const NEAR = 0.9;
const rows = new Map(); // session id -> {id, name, location, start_time, counts}
let isStaff = false;
const PASSWORD_KEY = "rollcall.moderator.event";
let sortKey = "start_time";
let sortDir = 1;

const COLUMNS = [
  { key: "name", label: "Session" },
  { key: "location", label: "Room" },
  { key: "start_time", label: "Starts" },
  { key: "registered", label: "Registered", num: true },
  { key: "in_room", label: "In room", num: true },
  { key: "capacity", label: "Capacity", num: true },
  { key: "remaining", label: "Seats left", num: true },
  { key: "fill", label: "Full", num: true },
];

function value(r, key) {
  const c = r.counts || {};
  switch (key) {
    case "registered": case "in_room": case "capacity": case "remaining": case "checked_in":
      return c[key] ?? -1;
    case "fill": return fill(r) ?? -1;
    default: return (r[key] || "") + (key === "start_time" ? (r.date || "") : "");
  }
}

function fill(r) {
  const c = r.counts || {};
  return c.capacity ? c.in_room / c.capacity : null;
}

function render() {
  const list = [...rows.values()].sort((a, b) => {
    const va = value(a, sortKey);
    const vb = value(b, sortKey);
    if (va < vb) return -sortDir;
    if (va > vb) return sortDir;
    return a.name.localeCompare(b.name);
  });
  const body = clear($("#sessions tbody"));
  let reg = 0, inRoom = 0, ever = 0, near = 0;
  for (const r of list) {
    const c = r.counts || {};
    reg += c.registered || 0;
    inRoom += c.in_room || 0;
    ever += c.checked_in || 0;
    const f = fill(r);
    if (f !== null && f >= NEAR) near += 1;
    const tr = el("tr", { class: f === null ? "" : f >= 1 ? "full" : f >= NEAR ? "near" : "", "data-session": r.id },
      el("td", {}, el("a", { href: `/sessions/${encodeURIComponent(r.id)}/dashboard` }, r.name),
        r.hidden ? el("span", { class: "pill" }, "hidden") : null),
      el("td", {}, r.location || ""),
      el("td", {}, r.start_time ? r.start_time.slice(0, 5) : ""),
      el("td", { class: "num" }, String(c.registered ?? 0)),
      el("td", { class: "num", "data-col": "in_room" }, String(c.in_room ?? 0)),
      el("td", { class: "num" }, c.capacity == null ? "—" : String(c.capacity)),
      el("td", { class: "num" }, c.remaining == null ? "—" : String(c.remaining)),
      el("td", { class: "num" }, f === null ? "—" : `${Math.round(f * 100)}%`));
    body.append(tr);
  }
  $("#t-sessions").textContent = rows.size;
  $("#t-registered").textContent = reg;
  $("#t-in-room").textContent = inRoom;
  $("#t-checked-in").textContent = ever;
  $("#t-near").textContent = near;
  for (const th of document.querySelectorAll("#sessions th")) {
    const on = th.dataset.key === sortKey;
    th.setAttribute("aria-sort", on ? (sortDir > 0 ? "ascending" : "descending") : "none");
    const col = COLUMNS.find((c) => c.key === th.dataset.key);
    th.querySelector("button").textContent = col.label + (on ? (sortDir > 0 ? " ▲" : " ▼") : "");
  }
}

function header() {
  return el("tr", {}, COLUMNS.map((col) => el("th", { class: col.num ? "num" : "", "data-key": col.key, scope: "col" },
    el("button", { type: "button", onclick: () => {
      if (sortKey === col.key) sortDir = -sortDir; else { sortKey = col.key; sortDir = col.num ? -1 : 1; }
      render();
    } }, col.label))));
}

function applyCounts(id, counts) {
  const r = rows.get(id);
  if (!r || !counts) return false;
  r.counts = counts;
  return true;
}

function onSnapshot(msg) {
  const list = msg.sessions || msg.counts || [];
  if (Array.isArray(msg.sessions)) {
    // The full list: a session deleted since we loaded leaves the table.
    const listed = new Set(msg.sessions.map((s) => s.session_id));
    for (const id of [...rows.keys()]) if (!listed.has(id)) rows.delete(id);
  }
  for (const item of Array.isArray(list) ? list : Object.entries(list).map(([id, counts]) => ({ session_id: id, counts }))) {
    const id = item.session_id || item.id;
    if (!rows.has(id) && item.name) rows.set(id, { id, name: item.name, counts: item.counts });
    applyCounts(id, item.counts || item);
  }
  render();
}

function onMessage(msg) {
  const id = msg.session_id;
  if (!id) return;
  if (!rows.has(id)) {
    if (isStaff) refresh(); // a session created since we loaded
    return;
  }
  if (applyCounts(id, msg.counts || (msg.type === "counts" ? msg : null))) render();
}

async function refresh() {
  const r = await api("GET", "/ui/staff/sessions");
  if (!r.ok) return r;
  for (const s of r.data) {
    const old = rows.get(s.id);
    rows.set(s.id, { ...s, counts: old && old.counts ? old.counts : s.counts });
  }
  render();
  return r;
}

/** Staff sign in with their account; event moderators may use the app's moderator password. */
function signIn(who) {
  return moderatorSignIn(app, { storageKey: PASSWORD_KEY,
    heading: "Or: the event's moderator password", label: "Moderator password",
    title: "Sign in to the event dashboard",
    note: who.staff ? "This account lacks the moderate or scan permission." : "Staff and moderators." });
}

async function main() {
  const who = await me();
  const viewer = await dashboardViewer(who, PASSWORD_KEY, signIn);
  if (!viewer) return;
  const { password } = viewer;
  isStaff = viewer.staff;
  const live = el("span", { class: "live", id: "live", role: "status" }, "Connecting…");
  const box = (id, label) => el("div", { class: "number" }, el("div", { class: "n", id }, "–"), el("div", { class: "l" }, label));
  clear(app).append(
    el("div", { class: "titlebar" }, el("h1", {}, "All sessions"), el("div", {}, live)),
    el("section", { class: "numbers", "aria-label": "Event totals" },
      box("t-sessions", "Sessions"), box("t-registered", "Registrations"), box("t-in-room", "In rooms now"),
      box("t-checked-in", "Checked in (ever)"), box("t-near", "Near capacity")),
    el("h2", {}, "Sessions"),
    el("p", { class: "muted" }, "Click a column to sort. Rooms at 90% or more are highlighted."),
    el("div", { class: "table-wrap" }, el("table", { id: "sessions" }, el("thead", {}, header()), el("tbody"))),
  );
  if (isStaff) {
    const r = await refresh();
    if (!r.ok) {
      app.append(el("p", { class: "notice bad" }, words(r)));
      return;
    }
  }
  const showState = indicator(live);
  new Live("/ws/event", {
    snapshot: onSnapshot,
    message: onMessage,
    state: dashboardState(app, showState, PASSWORD_KEY, password),
  }, { ordered: false, password }).start();
}

main();
