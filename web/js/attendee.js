// Attendee pages: the schedule ("/"), one session ("/sessions/{id}"), check-in and check-out,
// codewords and self-reporting ("Add a session I attended").
import {
  $, api, clear, doorPost, el, event, fmtClock, fmtDate, fmtTime, logout, me, newKey, show,
  tooMany, words,
} from "./common.js";

import { attendeePolls, evaluationPanel, questionsList } from "./engage.js";
import { Live } from "./live.js";

const app = $("#app");
const STATUS_MAX = 35;
let info = null; // GET /ui/event
let who = null; // GET /auth/me
let channel = null; // /ws/attendee/{id}: my status, seats, moderators' prompts
let shownStatus = null;
let lastPrompt = null;
const engaged = { polls: null, questions: null, evaluation: null }; // the newest frames

/** (Re)draw the live engagement sections: polls, the evaluation, questions. */
function drawEngagement(sid) {
  const holder = $("#engagement");
  if (!holder) return;
  clear(holder);
  if (engaged.evaluation) {
    const ev = evaluationPanel(sid, engaged.evaluation, () => drawEngagement(sid));
    if (ev) holder.append(ev);
  }
  if (engaged.polls && engaged.polls.polls.length) holder.append(attendeePolls(sid, engaged.polls.polls));
  if (engaged.questions && engaged.questions.questions.length) {
    holder.append(el("h2", {}, "Questions"), questionsList(engaged.questions));
  }
}

function sessionIdFromPath() {
  const m = location.pathname.match(/^\/sessions\/([^/]+)\/?$/);
  return m ? decodeURIComponent(m[1]) : null;
}

function when(s) {
  const parts = [];
  if (s.start_time) parts.push(fmtClock(s.start_time) + (s.end_time ? "–" + fmtClock(s.end_time) : ""));
  if (s.location) parts.push(s.location);
  return parts.join(" · ");
}

function renderWho() {
  const slot = clear($("#who"));
  if (who.attendee) {
    slot.append(
      el("span", {}, `Hi, ${who.attendee.first_name || "there"} `),
      el("button", { class: "link", type: "button", onclick: logout }, "Not you?"),
    );
  }
}

/** The door's line (at most 35 characters): in the room or not, and since when. The hub's
 *  session status and its action (claim credit, register) follow it (#session-status). */
export function statusLine(s, mine) {
  let text;
  const action = null;
  if (!mine) {
    text = s.checkin_required ? "Identify yourself to check in" : "Welcome";
  } else if (mine.in_room) {
    text = mine.delivery_format === "virtual" ? "Checked in (virtual)" : `Checked in at ${fmtTime(mine.checkin_time)}`;
  } else if (mine.checked_in) {
    text = `Checked out at ${fmtTime(mine.checkout_time)}`;
  } else if (s.remaining === 0) {
    text = "This session is full";
  } else {
    text = "Not checked in yet";
  }
  return { text: text.slice(0, STATUS_MAX), action };
}

function identifyForm(onDone) {
  const labels = info.identify_with.map((f) => f.label);
  const label = labels.length > 1 ? labels.slice(0, -1).join(", ") + " or " + labels.at(-1) : labels[0] || "Email";
  const ident = el("input", { type: "text", id: "identifier", autocomplete: "email", required: true,
    autocapitalize: "off", spellcheck: "false" });
  const pass = el("input", { type: "password", id: "app-password", autocomplete: "off" });
  const msg = el("div", { class: "notice bad hidden", role: "alert" });
  const submit = el("button", { type: "submit", class: "big" }, "Continue");
  const form = el("form", { class: "card stack", id: "identify" },
    el("h2", {}, "Who are you?"),
    el("div", {}, el("label", { for: "identifier" }, label), ident),
    info.app_password_required
      ? el("div", {}, el("label", { for: "app-password" }, "Event password"), pass) : null,
    msg, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const r = await api("POST", "/auth/attendee", { identifier: ident.value, app_password: pass.value || null });
    submit.disabled = false;
    if (!r.ok) {
      msg.textContent = words(r, info.reasons);
      show(msg);
      return;
    }
    who.attendee = r.data.attendee;
    renderWho();
    onDone();
  });
  return form;
}

// --- the schedule -----------------------------------------------------------------------

async function schedulePage() {
  document.title = info.name + " · Schedule";
  const r = await api("GET", "/ui/schedule");
  clear(app);
  app.append(el("h1", {}, "Schedule"));
  if (!r.ok) {
    app.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const selfReport = el("button", { type: "button", class: "secondary", id: "self-report" },
    "Add a session I attended");
  selfReport.addEventListener("click", () => selfReportPanel(r.data));
  const bar = el("div", { class: "topbar" }, selfReport);
  app.append(bar);
  if (who.attendee) {
    // The certificate, once the attendee has earned credit somewhere.
    const c = await api("GET", "/ui/certificate");
    if (c.ok && c.data.available) {
      bar.append(el("a", { href: "/my/certificate.pdf", id: "certificate", class: "button secondary",
        download: "" }, "Download my CE certificate"));
    }
  }
  if (!r.data.length) app.append(el("p", { class: "muted" }, "No sessions yet."));
  let day = undefined;
  let list = null;
  for (const s of r.data) {
    if (s.date !== day || !list) {
      day = s.date;
      app.append(el("h2", {}, s.date ? fmtDate(s.date) : "Other sessions"));
      list = el("ul", { class: "schedule" });
      app.append(list);
    }
    list.append(el("li", {}, el("a", { href: `/sessions/${encodeURIComponent(s.id)}` },
      el("strong", {}, s.name),
      s.delivery_format ? el("span", { class: "pill" }, s.delivery_format) : null,
      s.attended ? el("span", { class: "pill attended" }, s.attended === "self-reported" ? "Self-reported" : "Attended") : null,
      el("div", { class: "when" }, when(s)))));
  }
}

function selfReportPanel(sessions) {
  clear(app);
  app.append(el("p", {}, el("a", { href: "/" }, "← Schedule")), el("h1", {}, "Add a session I attended"));
  if (!who.attendee) {
    app.append(identifyForm(() => selfReportPanel(sessions)));
    return;
  }
  app.append(el("p", { class: "muted" }, "Pick the session. If it has a check-in code, enter it."));
  const started = sessions.filter((s) => s.started);
  if (!started.length) app.append(el("p", { class: "muted" }, "No session has started yet."));
  const list = el("ul", { class: "schedule" });
  for (const s of started) {
    const codeId = `code-${s.id}`;
    const code = el("input", { type: "text", id: codeId, autocomplete: "off", autocapitalize: "characters" });
    const msg = el("div", { role: "status" });
    const add = el("button", { type: "submit" }, "Add");
    const fmtId = `fmt-${s.id}`;
    const fmt = el("select", { id: fmtId }, el("option", { value: "in-person" }, "In person"),
      el("option", { value: "virtual" }, "Virtually"));
    const form = el("form", { class: "card stack", "data-session": s.id },
      el("strong", {}, s.name), el("div", { class: "when" }, [s.date ? fmtDate(s.date) : "", when(s)].filter(Boolean).join(" · ")),
      s.has_checkin_code ? el("div", {}, el("label", { for: codeId }, "Check-in code"), code) : null,
      s.delivery_format === "hybrid" ? el("div", {}, el("label", { for: fmtId }, "How did you attend?"), fmt) : null,
      el("div", { class: "row" }, add), msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      add.disabled = true;
      const body = {};
      if (s.has_checkin_code) body.code = code.value.trim();
      if (s.delivery_format === "hybrid") body.delivery_format = fmt.value;
      const res = await api("POST", `/api/v2/sessions/${encodeURIComponent(s.id)}/attendance/self-report`, body);
      add.disabled = false;
      msg.className = "notice " + (res.ok ? "ok" : "bad");
      msg.textContent = res.ok ? "Added to your attendance."
        : res.status === 429 ? tooMany(res, add) : words(res, info.reasons);
    });
    list.append(el("li", {}, form));
  }
  app.append(list);
}

// --- one session ------------------------------------------------------------------------

async function sessionPage(sid) {
  const r = await api("GET", `/ui/sessions/${encodeURIComponent(sid)}`);
  clear(app);
  if (!r.ok) {
    app.append(el("p", {}, el("a", { href: "/" }, "← Schedule")),
      el("p", { class: "notice bad" }, r.status === 404 ? "There is no such session." : words(r)));
    return;
  }
  const s = r.data;
  const mine = s.me;
  document.title = s.name + " · " + info.name;
  shownStatus = !mine ? null : mine.in_room ? "in_room" : mine.checked_in ? "checked_out" : "not_checked_in";
  if (mine && !channel) listen(sid);

  if (mine && mine.in_room && s.checkout_required) {
    const out = el("button", { type: "button", class: "secondary", id: "checkout" }, "Check out");
    out.addEventListener("click", () => checkoutConfirm(s));
    app.append(el("div", { class: "topbar" }, out));
  }
  const st = statusLine(s, mine);
  app.append(el("div", { class: "status-line", id: "status", role: "status" },
    el("span", { id: "status-text" }, st.text),
    st.action ? el("a", { href: st.action.href, target: "_blank", rel: "noopener noreferrer", id: "status-action" }, st.action.label) : null));
  if (mine) {
    const box = el("div", { class: "status-line", id: "session-status", role: "status" });
    app.append(box);
    const r = await api("GET", `/api/v2/sessions/${encodeURIComponent(sid)}/status`);
    if (r.ok) showSessionStatus(sid, r.data);
  }
  if (lastPrompt && mine && mine.in_room) app.append(promptBanner(lastPrompt));

  if (!info.single_session_id) app.append(el("p", {}, el("a", { href: "/" }, "← Schedule")));
  app.append(el("h1", {}, s.name));
  const meta = [s.date ? fmtDate(s.date) : "", when(s)].filter(Boolean).join(" · ");
  if (meta) app.append(el("p", { class: "when" }, meta));
  if (s.presenters.length) app.append(el("p", {}, "With " + s.presenters.join(", ")));
  if (s.description) app.append(el("p", {}, s.description));
  if (s.fields_of_study.length) {
    app.append(el("p", { class: "muted" }, "CE: " + s.fields_of_study.map((f) => `${f.name} (${f.credits})`).join(", ")
      + (s.ce_minutes ? ` · ${s.ce_minutes} min` : "")));
  }

  const wantsCheckin = s.checkin_required || s.has_checkin_code;
  if (!mine) {
    // Identify to check in, or to register where the session allows it.
    if (wantsCheckin || s.self_registration) app.append(identifyForm(() => sessionPage(sid)));
    return;
  }
  // A self-reported session is a completed record, never a live presence: no check-in here.
  if (!mine.in_room && !mine.self_reported && (wantsCheckin || mine.checked_in)) {
    app.append(checkinForm(s, mine));
  }
  if (mine.checked_in && s.has_codewords) app.append(codewordForm(s));
  app.append(el("div", { id: "engagement" }));
  drawEngagement(sid);
}

/** The hub's status line for this attendee (GET /sessions/{id}/status, or a pushed
 *  session_status frame): the event's message and the action, if one is offered. */
function showSessionStatus(sid, st) {
  const box = $("#session-status");
  if (!box) return;
  clear(box);
  box.dataset.state = st.state;
  box.append(el("span", { id: "session-status-text" }, st.message));
  if (st.action === "claim_credit" && st.action_url) {
    box.append(el("a", { href: st.action_url, target: "_blank", rel: "noopener noreferrer",
      id: "session-status-action" }, "Claim CE credit"));
  } else if (st.action === "register") {
    const reg = el("button", { type: "button", class: "secondary", id: "session-status-action" }, "Register");
    reg.addEventListener("click", async () => {
      reg.disabled = true;
      const res = await api("POST", `/api/v2/sessions/${encodeURIComponent(sid)}/register`);
      if (res.ok) showSessionStatus(sid, res.data);
      else { reg.disabled = false; box.append(el("span", { class: "notice bad" }, words(res, info.reasons))); }
    });
    box.append(reg);
  }
}

function promptBanner(msg) {
  return el("div", { class: "notice warn", id: "prompt", role: "alert" }, msg.message);
}

/** Live updates for the signed-in attendee: a check-in made elsewhere (a scan at the door),
 *  and the moderator's prompts ("enter the codeword now"). */
function listen(sid) {
  let pending = null;
  // A `me` frame may describe a moment already past (frames and page loads race), so it is
  // only a hint: ask the hub for the current state and redraw only when it really changed.
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const r = await api("GET", `/ui/sessions/${encodeURIComponent(sid)}`);
      if (!r.ok || !r.data.me) return;
      const m = r.data.me;
      const now = m.in_room ? "in_room" : m.checked_in ? "checked_out" : "not_checked_in";
      if (now !== shownStatus) sessionPage(sid);
    }, 300);
  };
  channel = new Live(`/ws/attendee/${encodeURIComponent(sid)}`, {
    message: (msg) => {
      if (msg.type === "me" && shownStatus !== null && msg.status !== shownStatus) refresh();
      if (msg.type === "session_status") showSessionStatus(sid, msg);
      if (msg.type === "polls" || msg.type === "questions" || msg.type === "evaluation") {
        engaged[msg.type] = msg;
        // Do not redraw under someone typing an answer: only when the polls really changed.
        const active = document.activeElement;
        if (!(active && active.closest && active.closest("#engagement form") && msg.type === "questions")) {
          drawEngagement(sid);
        }
      }
      if (msg.type === "prompt") {
        lastPrompt = msg;
        const old = $("#prompt");
        const banner = promptBanner(msg);
        if (old) old.replaceWith(banner); else $("#status").after(banner);
        const word = $("#codeword");
        if (msg.field === "codeword" && word) word.focus();
      }
    },
  }, { ordered: false }).start();
}

function checkinForm(s, mine) {
  const code = el("input", { type: "text", id: "checkin-code", autocomplete: "off", autocapitalize: "characters" });
  const msg = el("div", { class: "notice bad hidden", role: "alert", id: "checkin-error" });
  const submit = el("button", { type: "submit", class: "big", id: "checkin" },
    mine.checked_in ? "Check in again" : "Check in");
  const formats = el("fieldset", {},
    el("legend", {}, "How are you attending?"),
    el("label", { class: "check" }, el("input", { type: "radio", name: "fmt", value: "in-person", required: true }), "In person"),
    el("label", { class: "check" }, el("input", { type: "radio", name: "fmt", value: "virtual" }), "Virtually"));
  const form = el("form", { class: "card stack", id: "checkin-form" },
    s.has_checkin_code ? el("div", {}, el("label", { for: "checkin-code" }, "Check-in code",
      el("span", { class: "hint" }, " (from the room; any case)")), code) : null,
    s.delivery_format === "hybrid" ? formats : null,
    msg, submit);
  // One idempotency key until the hub gives a definite answer: a second tap after a lost
  // answer repeats the same request instead of making a new one.
  let pendingKey = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    submit.textContent = "Checking in…";
    show(msg, false);
    const body = { source: "web" };
    if (s.has_checkin_code) body.code = code.value.trim();
    if (s.delivery_format === "hybrid") {
      const picked = form.querySelector("input[name=fmt]:checked");
      if (picked) body.delivery_format = picked.value;
    }
    pendingKey = pendingKey || newKey();
    body.idempotency_key = pendingKey;
    const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(s.id)}/attendance/checkin`,
      body, { onRetry: () => { submit.textContent = "Still trying…"; } });
    submit.disabled = false;
    submit.textContent = "Check in";
    if (!res.network) pendingKey = null;
    if (res.ok || res.reason === "already_checked_in") {
      await sessionPage(s.id);
      return;
    }
    msg.textContent = res.status === 429 ? tooMany(res, submit) : words(res, info.reasons);
    show(msg);
    if (s.has_checkin_code && (res.reason === "code_invalid" || res.reason === "code_required")) code.select();
  });
  return form;
}

function checkoutConfirm(s) {
  const code = el("input", { type: "text", id: "checkout-code", autocomplete: "off", autocapitalize: "characters" });
  const msg = el("div", { class: "notice bad hidden", role: "alert" });
  const yes = el("button", { type: "submit", class: "danger", id: "checkout-confirm" }, "Yes, check out");
  const no = el("button", { type: "button", class: "secondary" }, "Stay checked in");
  const dialog = el("form", { class: "card stack", id: "checkout-form", role: "alertdialog", "aria-labelledby": "co-title" },
    el("h2", { id: "co-title" }, `Check out of ${s.name}?`),
    s.has_checkout_code ? el("div", {}, el("label", { for: "checkout-code" }, "Check-out code"), code) : null,
    msg, el("div", { class: "row" }, yes, no));
  no.addEventListener("click", () => sessionPage(s.id));
  dialog.addEventListener("submit", async (e) => {
    e.preventDefault();
    yes.disabled = true;
    show(msg, false);
    const body = { source: "web" };
    if (s.has_checkout_code) body.code = code.value.trim();
    const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(s.id)}/attendance/checkout`, body);
    yes.disabled = false;
    if (res.ok || res.reason === "not_checked_in") {
      await sessionPage(s.id);
      return;
    }
    msg.textContent = res.status === 429 ? tooMany(res, yes) : words(res, info.reasons);
    show(msg);
  });
  app.prepend(dialog);
  (s.has_checkout_code ? code : yes).focus();
}

function codewordForm(s) {
  const word = el("input", { type: "text", id: "codeword", autocomplete: "off", autocapitalize: "characters" });
  const msg = el("div", { role: "status" });
  const submit = el("button", { type: "submit" }, "Submit codeword");
  const form = el("form", { class: "card stack", id: "codeword-form" },
    el("h2", {}, "Codewords"),
    el("div", {}, el("label", { for: "codeword" }, "Codeword", el("span", { class: "hint" }, " (announced during the session)")), word),
    el("div", { class: "row" }, submit), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!word.value.trim()) return;
    submit.disabled = true;
    const res = await doorPost(`/api/v2/sessions/${encodeURIComponent(s.id)}/attendance/codeword`,
      { codeword: word.value.trim() });
    submit.disabled = false;
    msg.className = "notice " + (res.ok ? "ok" : "bad");
    msg.textContent = res.ok ? "Codeword accepted."
      : res.status === 429 ? tooMany(res, submit) : words(res, info.reasons);
    if (res.ok) word.value = "";
  });
  return form;
}

async function main() {
  [info, who] = await Promise.all([event(), me()]);
  $("#event-name").textContent = info.name;
  renderWho();
  const sid = sessionIdFromPath();
  if (sid) {
    await sessionPage(sid);
  } else if (info.single_session_id) {
    location.replace(`/sessions/${encodeURIComponent(info.single_session_id)}`);
  } else {
    await schedulePage();
  }
}

main();
