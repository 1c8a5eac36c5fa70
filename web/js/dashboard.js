// Moderator dashboard (/sessions/{id}/dashboard): big live numbers, arrivals and departures,
// people in the room over time and check-ins per minute, fed by /ws/sessions/{id}.
import { $, api, can, clear, dashboardState, dashboardViewer, el, fmtTime, me, moderatorSignIn, personName, words } from "./common.js";
import { drawBars, drawLine } from "./chart.js";
import { moderatorPolls, questionsList } from "./engage.js";
import { Live, indicator } from "./live.js";

const app = $("#app");
const sid = decodeURIComponent(location.pathname.split("/")[2] || "");
const FEED_MAX = 100;

const state = {
  counts: null,
  series: [], // {t, v}: people in the room over time
  perMinute: new Map(), // minute -> check-ins
  seen: new Set(), // feed keys already shown
};

function numberBox(id, label) {
  return el("div", { class: "number" }, el("div", { class: "n", id }, "–"), el("div", { class: "l" }, label));
}

function setCounts(c) {
  if (!c) return;
  state.counts = c;
  $("#n-registered").textContent = c.registered;
  $("#n-in-room").textContent = c.in_room;
  $("#n-capacity").textContent = c.capacity ?? "—";
  $("#n-remaining").textContent = c.remaining ?? "—";
  $("#n-leased").textContent = c.leased || 0; // seats offline doors hold (docs/offline.md)
  $("#n-checked-in").textContent = c.checked_in;
  const last = state.series.at(-1);
  if (!last || last.v !== c.in_room) state.series.push({ t: Date.now(), v: c.in_room });
  if (state.series.length > 2000) state.series.splice(0, state.series.length - 2000);
  redraw();
}

function redraw() {
  drawLine($("#chart-room"), state.series, "People in the room over time");
  drawBars($("#chart-rate"), state.perMinute, "Check-ins per minute");
}

function countArrival(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return;
  const minute = Math.floor(t / 60000) * 60000;
  state.perMinute.set(minute, (state.perMinute.get(minute) || 0) + 1);
}

function feedItem(kind, record, at) {
  const key = `${kind}|${record.user && (record.user.external_id || record.user.email)}|${at}`;
  if (state.seen.has(key)) return null;
  state.seen.add(key);
  const name = personName(record.user || record);
  const how = kind === "checkin" ? "arrived" : "left";
  const extra = kind === "checkin" && record.delivery_format === "virtual" ? " (virtual)" : "";
  return el("li", { "data-kind": kind },
    el("span", {}, el("span", { class: kind === "checkin" ? "in" : "out" }, kind === "checkin" ? "→ " : "← "),
      `${name} ${how}${extra}`),
    el("time", { datetime: at || "" }, fmtTime(at)));
}

function addFeed(kind, record, at, { top = true } = {}) {
  const li = feedItem(kind, record, at);
  if (!li) return;
  const feed = $("#feed");
  if (top) feed.prepend(li); else feed.append(li);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  $("#feed-empty").classList.add("hidden");
}

function lastAction(record) {
  const h = record.history || [];
  if (h.length) return h[h.length - 1];
  if (record.checkout_time && (!record.checkin_time || record.checkout_time > record.checkin_time)) {
    return { action: "checkout", timestamp: record.checkout_time };
  }
  return { action: "checkin", timestamp: record.checkin_time };
}

/** Rebuild "people in the room over time" from the snapshot's records (their histories),
 *  anchored on the current in-room count: the chart has a past from the first paint. */
function seriesFrom(records, inRoom) {
  const evs = [];
  for (const r of records) {
    for (const h of r.history || []) {
      const t = Date.parse(h.timestamp);
      if (!Number.isNaN(t)) evs.push({ t, d: h.action === "checkout" ? -1 : 1 });
    }
  }
  evs.sort((a, b) => a.t - b.t);
  let v = Math.max(0, inRoom - evs.reduce((n, e) => n + e.d, 0));
  const out = evs.length ? [{ t: evs[0].t - 1000, v }] : [];
  for (const e of evs) {
    v = Math.max(0, v + e.d);
    out.push({ t: e.t, v });
  }
  return out;
}

function onSnapshot(msg) {
  const records = (msg.records || msg.recent || []).slice();
  if (msg.counts) state.series = seriesFrom(records, msg.counts.in_room);
  setCounts(msg.counts);
  clear($("#feed"));
  state.seen.clear();
  state.perMinute.clear();
  const items = [];
  for (const r of records) {
    for (const h of r.history || [{ action: "checkin", timestamp: r.checkin_time }]) {
      if (h.action === "checkin" && h.timestamp) countArrival(h.timestamp);
    }
    const last = lastAction(r);
    items.push({ kind: last.action, record: r, at: last.timestamp });
  }
  items.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  for (const it of items) addFeed(it.kind, it.record, it.at, { top: false });
  if (!items.length) $("#feed-empty").classList.remove("hidden");
  redraw();
}

let polls = null; // the polls panel

function onMessage(msg) {
  if (msg.type === "polls") {
    if (polls) polls.update(msg);
    return;
  }
  if (msg.type === "questions") {
    const old = $("#questions");
    if (old) old.replaceWith(questionsList(msg));
    return;
  }
  if (msg.counts) setCounts(msg.counts);
  else if (msg.type === "counts") setCounts(msg);
  if ((msg.type === "checkin" || msg.type === "checkout") && msg.record) {
    const last = lastAction(msg.record);
    const at = msg.at || last.timestamp;
    if (msg.type === "checkin") countArrival(at);
    addFeed(msg.type, msg.record, at);
    redraw();
  } else if (msg.type === "cleared" || msg.type === "removed") {
    const feed = $("#feed");
    feed.prepend(el("li", {}, el("span", {}, msg.type === "cleared" ? "All check-ins were cleared" : "Check-ins were removed"),
      el("time", {}, fmtTime(msg.at))));
  }
}

const PASSWORD_KEY = `rollcall.moderator.${sid}`;

/** Staff sign in with their account; a session's moderator may use its moderator password. */
function signIn(who) {
  return moderatorSignIn(app, { storageKey: PASSWORD_KEY, heading: "Or: moderator password",
    label: "The session's moderator password", title: "Sign in to the dashboard",
    note: who.staff ? "This account lacks the moderate permission." : "Moderators and staff." });
}

function promptForm(live) {
  const msgInput = el("input", { type: "text", id: "prompt-message", maxlength: 200, required: true,
    value: "Enter the codeword now" });
  const field = el("input", { type: "checkbox", id: "prompt-codeword", checked: true });
  const note = el("span", { role: "status", id: "prompt-status" });
  const form = el("form", { class: "card stack", id: "prompt-form" },
    el("h2", {}, "Prompt attendees"),
    el("div", {}, el("label", { for: "prompt-message" }, "Message to attendees' phones"), msgInput),
    el("label", { class: "check" }, field, "Ask for a codeword"),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Send"), note));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const sent = live.send({ type: "prompt", message: msgInput.value.trim(), field: field.checked ? "codeword" : null });
    note.textContent = sent ? " Sent." : " Not connected; try again in a moment.";
  });
  return form;
}

async function main() {
  const who = await me();
  const viewer = await dashboardViewer(who, PASSWORD_KEY, signIn);
  if (!viewer) return;
  const { password } = viewer;
  const s = await api("GET", `/ui/sessions/${encodeURIComponent(sid)}`);
  clear(app);
  if (!s.ok) {
    app.append(el("p", { class: "notice bad" }, s.status === 404 ? "There is no such session." : words(s)));
    return;
  }
  document.title = `${s.data.name} · Dashboard`;
  const live = el("span", { class: "live", id: "live", role: "status" }, "Connecting…");
  app.append(
    el("div", { class: "titlebar" }, el("h1", {}, s.data.name), el("div", {}, live)),
    el("p", { class: "when" }, [s.data.location, s.data.start_time && s.data.start_time.slice(0, 5)].filter(Boolean).join(" · ")),
    el("section", { class: "numbers", "aria-label": "Live numbers" },
      numberBox("n-registered", "Registered"), numberBox("n-in-room", "In the room"),
      numberBox("n-capacity", "Capacity"), numberBox("n-remaining", "Seats left"),
      numberBox("n-leased", "Held by offline doors"),
      numberBox("n-checked-in", "Checked in (ever)")),
    el("div", { class: "grid2" },
      el("section", {}, el("h2", {}, "In the room"), el("svg", {}), el("div")),
      el("section", {}, el("h2", {}, "Check-ins per minute"))),
    el("h2", {}, "Arrivals and departures"),
    el("p", { class: "muted", id: "feed-empty" }, "Nobody yet."),
    el("ol", { class: "feed card", id: "feed", "aria-live": "polite" }),
  );
  // SVG elements need their namespace: replace the placeholders.
  const grid = app.querySelector(".grid2");
  const room = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  room.id = "chart-room";
  room.setAttribute("class", "chart");
  room.setAttribute("role", "img");
  room.setAttribute("aria-label", "People in the room over time");
  const rate = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  rate.id = "chart-rate";
  rate.setAttribute("class", "chart");
  rate.setAttribute("role", "img");
  rate.setAttribute("aria-label", "Check-ins per minute");
  const sections = grid.querySelectorAll("section");
  clear(sections[0]).append(el("h2", {}, "In the room"), room);
  sections[1].append(rate);
  if (s.data.counts) setCounts(s.data.counts);
  redraw();
  setInterval(redraw, 15000);
  window.addEventListener("resize", redraw);
  polls = moderatorPolls(sid, can(who.staff, "moderate"));
  app.append(polls.node, el("h2", {}, "Questions"), el("ol", { id: "questions", class: "feed card" }));
  const show = indicator(live);
  const channel = new Live(`/ws/sessions/${encodeURIComponent(sid)}`, {
    snapshot: onSnapshot,
    message: onMessage,
    error: (m) => { const n = $("#prompt-status"); if (n) n.textContent = " " + m.message; },
    state: dashboardState(app, show, PASSWORD_KEY, password),
  }, { password }).start();
  if (password || can(who.staff, "moderate")) app.append(promptForm(channel));
}

main();
