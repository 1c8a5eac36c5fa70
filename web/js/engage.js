// Live engagement on the session page (attendees: answer open polls, see revealed results,
// fill in the evaluation once it opens) and on the moderator dashboard (create, open, close
// and reveal polls; results live). Fed by the `polls`, `questions` and `evaluation` frames
// (absolute states: the newest replaces what we hold; docs/realtime.md).
import { api, clear, el, words } from "./common.js";

const base = (sid) => `/api/v2/sessions/${encodeURIComponent(sid)}`;

function resultsList(poll) {
  const r = poll.results;
  if (!r) return null;
  const items = Object.entries(r.counts || {}).map(([choice, n]) =>
    el("li", { "data-choice": choice }, el("span", {}, choice), " ",
      el("strong", { class: "n" }, String(n))));
  const list = el("ul", { class: "results", "aria-label": `Results of ${poll.name}` }, ...items);
  const extra = [el("span", { class: "total" }, `${r.total} answer${r.total === 1 ? "" : "s"}`)];
  if (r.average != null) extra.push(` · average ${r.average}`);
  const texts = (r.texts || []).map((t) => el("li", {}, t));
  return el("div", { class: "poll-results" }, list, el("p", { class: "muted" }, ...extra),
    texts.length ? el("ul", { class: "texts" }, ...texts) : null);
}

// --- attendees ----------------------------------------------------------------------------

const mine = new Map(); // poll id -> what I answered (this page's memory)

function answerForm(sid, poll) {
  const note = el("span", { role: "status", class: "answer-status" });
  const form = el("form", { class: "stack poll-form" });
  let input = null;
  if (poll.type === "open_text") {
    input = el("textarea", { maxlength: 1000, rows: 2, "aria-label": poll.name });
    form.append(input);
  } else {
    const multi = poll.type === "multiple_select";
    for (const c of poll.choices) {
      const box = el("input", { type: multi ? "checkbox" : "radio", name: `poll-${poll.id}`, value: c });
      if ([].concat(mine.get(poll.id) || []).map(String).includes(c)) box.checked = true;
      form.append(el("label", { class: "check" }, box, c));
    }
  }
  form.append(el("div", { class: "row" }, el("button", { type: "submit" }, mine.has(poll.id) ? "Change my answer" : "Answer"), note));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let response;
    if (input) response = input.value;
    else {
      const picked = [...form.querySelectorAll("input:checked")].map((b) => b.value);
      if (poll.type === "multiple_select") response = picked;
      else if (poll.type === "rating") response = Number(picked[0]);
      else response = picked[0];
    }
    if (response === undefined || (Array.isArray(response) && !response.length) || Number.isNaN(response)) {
      note.textContent = " Pick an answer first.";
      return;
    }
    const r = await api("POST", `${base(sid)}/polls/${encodeURIComponent(poll.id)}/responses`, { response });
    if (r.ok) {
      mine.set(poll.id, response);
      note.textContent = " Thank you: your answer is in.";
    } else note.textContent = " " + words(r);
  });
  return form;
}

export function attendeePolls(sid, polls) {
  const box = el("section", { id: "polls", "aria-label": "Polls" });
  for (const p of polls) {
    const card = el("div", { class: "card stack poll", "data-poll": p.id, "data-state": p.state },
      el("h2", {}, p.name));
    if (p.state === "open") card.append(answerForm(sid, p));
    else card.append(el("p", { class: "muted" }, "This poll is closed."));
    const res = resultsList(p);
    if (res) card.append(res);
    box.append(card);
  }
  return box;
}

export function evaluationPanel(sid, frame, onDone) {
  const box = el("section", { id: "evaluation", class: "card stack", "aria-label": "Evaluation" });
  const opensAt = frame && frame.opens_at ? Date.parse(frame.opens_at) : NaN;
  const isOpen = frame && (frame.open || (!Number.isNaN(opensAt) && Date.now() >= opensAt));
  if (!isOpen) {
    if (!Number.isNaN(opensAt)) {
      box.append(el("p", { class: "muted", id: "evaluation-status" },
        `The evaluation opens at ${new Date(opensAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`));
      setTimeout(onDone, Math.min(Math.max(opensAt - Date.now() + 500, 1000), 2 ** 31 - 1));
      return box;
    }
    return null;
  }
  box.append(el("h2", {}, "Evaluation"), el("p", { id: "evaluation-status", class: "muted" }, "Loading…"));
  api("GET", `${base(sid)}/evaluation`).then((r) => {
    const status = box.querySelector("#evaluation-status");
    if (!r.ok) { status.textContent = words(r); return; }
    if (r.data.complete) { status.textContent = "Thank you: your evaluation is in."; return; }
    status.textContent = "The evaluation is open.";
    const form = el("form", { class: "stack", id: "evaluation-form" });
    r.data.items.forEach((item, i) => {
      const name = `ev-${i}`;
      const label = item.text + (item.presenter ? ` (${item.presenter})` : "") + (item.required ? "" : " (optional)");
      const field = el("fieldset", { "data-question": item.question_id }, el("legend", {}, label));
      if (item.kind === "text") {
        field.append(el("textarea", { name, rows: 2, maxlength: 2000 }));
      } else {
        (item.choices || []).forEach((c, k) => {
          const value = item.kind === "rating" ? String(k + 1) : c;
          field.append(el("label", { class: "check" }, el("input", { type: "radio", name, value }), c));
        });
      }
      form.append(field);
    });
    const note = el("div", { role: "alert", id: "evaluation-error", class: "notice bad hidden" });
    form.append(note, el("button", { type: "submit", id: "evaluation-submit" }, "Submit evaluation"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const answers = [];
      r.data.items.forEach((item, i) => {
        const text = form.querySelector(`textarea[name=ev-${i}]`);
        const picked = form.querySelector(`input[name=ev-${i}]:checked`);
        const value = text ? text.value.trim() : picked ? picked.value : "";
        if (!value) return;
        answers.push({ question_id: item.question_id, presenter_id: item.presenter_id,
          response: item.kind === "rating" ? Number(value) : value });
      });
      const sent = await api("POST", `${base(sid)}/evaluation/responses`, { answers });
      if (sent.ok) {
        clear(box).append(el("h2", {}, "Evaluation"),
          el("p", { id: "evaluation-status" }, "Thank you: your evaluation is in."));
      } else {
        note.textContent = words(sent);
        note.classList.remove("hidden");
      }
    });
    box.append(form);
  });
  return box;
}

// --- moderators ---------------------------------------------------------------------------

function createForm(sid, note) {
  const name = el("input", { type: "text", id: "poll-name", maxlength: 500, required: true });
  const type = el("select", { id: "poll-type" },
    ...["multiple_choice", "multiple_select", "rating", "open_text"].map((t) =>
      el("option", { value: t }, t.replace("_", " "))));
  const choices = el("textarea", { id: "poll-choices", rows: 3, placeholder: "One choice a line" });
  const form = el("form", { class: "card stack", id: "poll-create" }, el("h2", {}, "New poll"),
    el("div", {}, el("label", { for: "poll-name" }, "Question"), name),
    el("div", {}, el("label", { for: "poll-type" }, "Type"), type),
    el("div", {}, el("label", { for: "poll-choices" }, "Choices"), choices),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Create"), note));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const list = choices.value.split("\n").map((c) => c.trim()).filter(Boolean);
    const r = await api("POST", `${base(sid)}/polls`, { name: name.value, type: type.value, choices: list });
    note.textContent = r.ok ? " Created." : " " + words(r);
    if (r.ok) { name.value = ""; choices.value = ""; }
  });
  return form;
}

/** The dashboard's polls panel; returns {node, update(frame)}. */
export function moderatorPolls(sid, canManage) {
  const list = el("div", { id: "poll-list", class: "stack" });
  const note = el("span", { role: "status", id: "poll-status" });
  const node = el("section", { id: "polls", "aria-label": "Polls" }, el("h2", {}, "Polls"), list,
    canManage ? createForm(sid, note) : null);
  const act = async (poll, path, body) => {
    const method = path ? "POST" : "PUT";
    const r = await api(method, `${base(sid)}/polls/${encodeURIComponent(poll.id)}${path}`, body);
    if (!r.ok) note.textContent = " " + words(r);
  };
  const update = (frame) => {
    clear(list);
    if (!frame.polls.length) list.append(el("p", { class: "muted" }, "No polls yet."));
    for (const p of frame.polls) {
      const buttons = [];
      if (canManage) {
        if (p.state !== "open") buttons.push(el("button", { type: "button", class: "open" }, "Open"));
        if (p.state === "open") buttons.push(el("button", { type: "button", class: "close secondary" }, "Close"));
        buttons.push(el("button", { type: "button", class: "reveal secondary" }, p.revealed ? "Hide results" : "Show results to attendees"));
      }
      const card = el("div", { class: "card stack poll", "data-poll": p.id, "data-state": p.state },
        el("h3", {}, p.name, " ", el("span", { class: "muted" }, `(${p.state})`)), resultsList(p),
        buttons.length ? el("div", { class: "row" }, ...buttons) : null);
      for (const b of buttons) {
        b.addEventListener("click", () => {
          if (b.classList.contains("open")) act(p, "/open");
          else if (b.classList.contains("close")) act(p, "/close");
          else act(p, "", { revealed: !p.revealed });
        });
      }
      list.append(card);
    }
  };
  return { node, update };
}

export function questionsList(frame) {
  const items = (frame.questions || []).map((q) =>
    el("li", { "data-question": q.id }, q.question, " ",
      el("span", { class: "muted" }, `▲ ${q.upvotes}${q.answered ? " · answered" : ""}${q.approved ? "" : " · waiting for approval"}${q.hidden ? " · hidden" : ""}${q.starred ? " · ★" : ""}`)));
  return el("ol", { id: "questions", class: "feed card" }, ...items);
}

