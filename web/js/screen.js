// Presenter screen (/sessions/{id}/screen): for a projector, in large type, what the
// moderator chose to show: the open poll's results (a poll whose results are revealed wins;
// else the first open one), else the starred question, else the session's name. Follows the
// dashboard's channel (/ws/sessions/{id}) live.
import { $, api, clear, dashboardState, dashboardViewer, el, me, moderatorSignIn, words } from "./common.js";
import { Live, indicator } from "./live.js";

const app = $("#app");
const sid = decodeURIComponent(location.pathname.split("/")[2] || "");
const PASSWORD_KEY = `rollcall.moderator.${sid}`;
const held = { polls: [], questions: [], name: "" };

function signIn(who) {
  return moderatorSignIn(app, { storageKey: PASSWORD_KEY, heading: "Or: moderator password",
    label: "The session's moderator password", title: "Sign in to the presenter screen",
    note: who.staff ? "This account lacks the moderate permission." : "Moderators and staff." });
}

function draw() {
  const stage = $("#stage");
  if (!stage) return;
  clear(stage);
  const open = held.polls.filter((p) => p.state === "open" || p.revealed);
  const poll = open.find((p) => p.revealed) || open.find((p) => p.state === "open");
  const starred = held.questions.find((q) => q.starred && q.approved && !q.hidden);
  if (poll) {
    const r = poll.results || { total: 0, counts: {} };
    const most = Math.max(1, ...Object.values(r.counts || {}));
    stage.append(el("h1", { class: "screen-title" }, poll.name),
      el("ul", { class: "screen-bars", id: "screen-poll", "data-poll": poll.id },
        ...Object.entries(r.counts || {}).map(([choice, n]) => el("li", { "data-choice": choice },
          el("span", { class: "label" }, choice),
          el("span", { class: "bar" }, "█".repeat(Math.round((n / most) * 20))),
          el("strong", { class: "n" }, String(n))))),
      el("p", { class: "screen-note" }, `${r.total} answer${r.total === 1 ? "" : "s"}`
        + (r.average != null ? ` · average ${r.average}` : "")));
  } else if (starred) {
    stage.append(el("p", { class: "screen-label" }, "Question"),
      el("h1", { class: "screen-title", id: "screen-question" }, starred.question),
      el("p", { class: "screen-note" }, `▲ ${starred.upvotes}`));
  } else {
    stage.append(el("h1", { class: "screen-title" }, held.name));
  }
}

async function main() {
  const who = await me();
  const viewer = await dashboardViewer(who, PASSWORD_KEY, signIn);
  if (!viewer) return;
  const s = await api("GET", `/ui/sessions/${encodeURIComponent(sid)}`);
  clear(app);
  if (!s.ok) {
    app.append(el("p", { class: "notice bad" }, s.status === 404 ? "There is no such session." : words(s)));
    return;
  }
  held.name = s.data.name;
  document.title = `${s.data.name} · Screen`;
  const live = el("span", { class: "live", id: "live", role: "status" }, "Connecting…");
  app.classList.add("screen");
  app.append(el("div", { id: "stage", "aria-live": "polite" }), el("div", { class: "screen-foot" }, live));
  draw();
  new Live(`/ws/sessions/${encodeURIComponent(sid)}`, {
    message: (msg) => {
      if (msg.type === "polls") { held.polls = msg.polls; draw(); }
      if (msg.type === "questions") { held.questions = msg.questions; draw(); }
    },
    state: dashboardState(app, indicator(live), PASSWORD_KEY, viewer.password),
  }, { password: viewer.password }).start();
}

main();
