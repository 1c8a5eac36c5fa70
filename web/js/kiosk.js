// Kiosk (/kiosk/{session id}): a tablet in the room, opened by staff and then locked to one
// session. Search the session's registered attendees or show a badge QR; one tap checks in;
// no codes; the screen resets after a few seconds for the next person.
import { $, api, clear, doorPost, el, event, feedback, me, newKey, personName, show, staffLogin, words } from "./common.js";
import { badgeFromCode, startCamera } from "./qr.js";

const app = $("#app");
const sid = decodeURIComponent(location.pathname.split("/")[2] || "");
const RESET_MS = 5000;
let info = null;
let session = null;
let camera = null;
let resetTimer = null;
let searchSeq = 0;
let busy = false;

function home() {
  clearTimeout(resetTimer);
  busy = false;
  show($("#kiosk-result"), false);
  show($("#kiosk-main"));
  const q = $("#q");
  q.value = "";
  clear($("#people"));
  q.focus();
}

function result(ok, title, detail) {
  feedback(ok);
  show($("#kiosk-main"), false);
  const box = clear($("#kiosk-result"));
  box.className = "big-message " + (ok ? "result ok" : "result bad");
  box.dataset.outcome = ok ? "admitted" : "refused";
  box.append(el("div", { id: "kiosk-title" }, title), detail ? el("div", { class: "why" }, detail) : null,
    el("button", { type: "button", class: "secondary", onclick: home }, "Next person"));
  show(box);
  clearTimeout(resetTimer);
  resetTimer = setTimeout(home, RESET_MS);
}

async function checkin(ref, name) {
  if (busy) return;
  busy = true;
  const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(sid)}/attendance/checkin`,
    { ...ref, source: "kiosk", idempotency_key: newKey("kiosk") });
  if (res.ok) {
    const who = res.data && res.data.record && res.data.record.user ? personName(res.data.record.user) : name;
    result(true, `Welcome, ${who}!`, "You are checked in.");
  } else if (res.reason === "already_checked_in") {
    result(true, `Welcome back, ${name || "you're in"}!`, "You were already checked in.");
  } else {
    result(false, "Sorry, that did not work", words(res, info.reasons) + " Please ask a member of staff.");
  }
}

async function search() {
  const q = $("#q").value.trim();
  const mine = ++searchSeq;
  const list = $("#people");
  if (q.length < 2) {
    clear(list);
    return;
  }
  const r = await api("GET", `/ui/kiosk/search?q=${encodeURIComponent(q)}`);
  if (mine !== searchSeq) return; // a newer search is on its way
  clear(list);
  if (!r.ok) {
    list.append(el("li", { class: "notice bad" }, words(r)));
    return;
  }
  if (!r.data.length) {
    list.append(el("li", { class: "muted" }, "No registered attendee matches. Try your last name or email."));
    return;
  }
  for (const p of r.data) {
    const name = personName(p);
    list.append(el("li", {}, el("button", { type: "button", onclick: () => checkin(p.ref, name) },
      el("span", {}, name), el("span", { class: "muted" }, p.in_room ? "already in" : (p.email_hint || "")))));
  }
}

async function toggleCamera() {
  const btn = $("#kiosk-camera");
  if (camera) {
    camera.stop();
    camera = null;
    show($("#kiosk-video"), false);
    btn.textContent = "Scan my badge";
    return;
  }
  try {
    show($("#kiosk-video"));
    camera = await startCamera($("#kiosk-video"), (text) => {
      const badge = badgeFromCode(text);
      if (badge) checkin({ badge_id: badge }, "");
    }, { repeatMs: RESET_MS + 1000 });
    btn.textContent = "Stop camera";
  } catch (_) {
    show($("#kiosk-video"), false);
  }
}

function unlockForm() {
  const pw = el("input", { type: "password", id: "unlock-password", autocomplete: "current-password" });
  const msg = el("div", { class: "notice bad hidden", role: "alert" });
  const form = el("form", { class: "card stack hidden", id: "unlock" },
    el("label", { for: "unlock-password" }, "Staff password to unlock this tablet"), pw, msg,
    el("button", { type: "submit", class: "secondary" }, "Unlock"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", "/auth/kiosk/exit", { password: pw.value });
    if (r.ok) location.reload();
    else { msg.textContent = words(r); show(msg); }
  });
  return form;
}

async function kioskMode() {
  document.title = `${session.name} · Kiosk`;
  $("#page-title").textContent = session.name;
  const q = el("input", { type: "search", id: "q", class: "kiosk-search", autocomplete: "off",
    autocapitalize: "off", spellcheck: "false", placeholder: "Your name or email" });
  let debounce = null;
  q.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(search, 200);
  });
  const unlock = unlockForm();
  clear(app).append(
    el("section", { id: "kiosk-main", class: "stack" },
      el("h1", {}, "Check in"),
      el("label", { for: "q" }, "Find your name"), q,
      el("ul", { class: "people", id: "people", "aria-live": "polite" }),
      el("button", { type: "button", class: "secondary big", id: "kiosk-camera", onclick: toggleCamera }, "Scan my badge"),
      el("video", { id: "kiosk-video", class: "cam hidden", "aria-label": "Camera" })),
    el("section", { id: "kiosk-result", class: "hidden", role: "status", "aria-live": "assertive" }),
    el("p", {}, el("button", { type: "button", class: "link", onclick: () => show(unlock) }, "Staff")),
    unlock);
  q.focus();
}

async function main() {
  // Installable, and opens with the network down (web/sw.js caches the page and its assets).
  document.head.append(el("link", { rel: "manifest", href: `/kiosk/${encodeURIComponent(sid)}/manifest.webmanifest` }));
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  const [who, ev, s] = await Promise.all([me(), event(), api("GET", `/ui/sessions/${encodeURIComponent(sid)}`)]);
  info = ev;
  if (!s.ok) {
    clear(app).append(el("p", { class: "notice bad" }, s.status === 404 ? "There is no such session." : words(s)));
    return;
  }
  session = s.data;
  if (who.kiosk && who.kiosk.session_id === sid) {
    await kioskMode();
    return;
  }
  if (who.kiosk) {
    clear(app).append(el("p", { class: "notice warn" }, "This tablet is locked to another session. "),
      el("a", { href: `/kiosk/${encodeURIComponent(who.kiosk.session_id)}` }, "Go to its kiosk"));
    return;
  }
  await staffLogin(app, { title: `Open the kiosk for “${session.name}”`,
    note: "Staff sign in once; the tablet then stays on this session until a staff password unlocks it.",
    url: "/auth/kiosk", extra: { session_id: sid }, button: "Open kiosk" });
  location.reload();
}

main();
