// Admin (/admin): sessions (every field), event settings, staff users, API keys, CSV export.
// Sessions and settings go through the REST API with the admin's cookie; API keys through
// /admin/api (the REST API has none); staff through /api/v2/staff.
import { $, api, can, clear, el, logout, me, show, staffLogin, words } from "./common.js";

const app = $("#app");
const MAX_FIELDS = 7;
const PERMS = [
  ["scan", "Scan attendees"], ["override", "Override session scans"],
  ["moderate", "Moderate (dashboards)"], ["admin", "Administer"],
];

function notice(node, res, okText) {
  node.className = "notice " + (res.ok ? "ok" : "bad");
  node.setAttribute("role", res.ok ? "status" : "alert");
  node.textContent = res.ok ? okText : words(res);
  show(node);
}

function field(id, label, input, hint) {
  input.id = id;
  return el("div", {}, el("label", { for: id }, label, hint ? el("span", { class: "hint" }, ` (${hint})`) : null), input);
}

function checkbox(id, label, checked) {
  return el("label", { class: "check" }, el("input", { type: "checkbox", id, checked: !!checked }), label);
}

// --- sessions ---------------------------------------------------------------------------

async function sessionsTab(panel) {
  const r = await api("GET", "/api/v2/sessions");
  clear(panel);
  const add = el("button", { type: "button", id: "new-session", onclick: () => sessionForm(panel, null) }, "New session");
  panel.append(el("div", { class: "row" }, el("h2", {}, "Sessions"), add));
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const rows = r.data.data || [];
  if (!rows.length) panel.append(el("p", { class: "muted" }, "No sessions yet."));
  const tbody = el("tbody");
  for (const s of rows) {
    const id = encodeURIComponent(s.id);
    tbody.append(el("tr", { "data-session": s.id },
      el("td", {}, s.name, s.hidden ? el("span", { class: "pill" }, "hidden") : null),
      el("td", {}, [s.date, s.start_time && s.start_time.slice(0, 5)].filter(Boolean).join(" ")),
      el("td", {}, s.location || ""),
      el("td", { class: "num" }, s.capacity == null ? "—" : String(s.capacity)),
      el("td", {},
        el("button", { type: "button", class: "link", onclick: () => sessionForm(panel, s) }, "Edit"), " · ",
        el("a", { href: `/sessions/${id}/dashboard` }, "Dashboard"), " · ",
        el("a", { href: `/kiosk/${id}` }, "Kiosk"), " · ",
        el("a", { href: `/admin/api/sessions/${id}/attendance.csv`, download: `attendance-${s.id}.csv` }, "CSV"))));
  }
  panel.append(el("div", { class: "table-wrap" }, el("table", { id: "session-table" },
    el("thead", {}, el("tr", {}, ["Name", "When", "Room", "Capacity", ""].map((h) => el("th", { scope: "col" }, h)))),
    tbody)));
}

function fosRows(list) {
  const wrap = el("div", { class: "stack", id: "fos" });
  for (let i = 0; i < MAX_FIELDS; i++) {
    const f = (list || [])[i] || {};
    wrap.append(el("div", { class: "row" },
      field(`fos-name-${i}`, `Field of study ${i + 1}`, el("input", { type: "text", value: f.name || "" })),
      field(`fos-credits-${i}`, "Credits", el("input", { type: "text", inputmode: "decimal", value: f.credits || "" })),
      field(`fos-words-${i}`, "Codewords", el("input", { type: "text", value: (f.codewords || []).join(", ") }), "comma-separated")));
  }
  return wrap;
}

function sessionForm(panel, s) {
  const editing = !!s;
  s = s || {};
  const text = (id, label, value, attrs = {}, hint) => field(id, label, el("input", { type: "text", value: value ?? "", ...attrs }), hint);
  const fmt = el("select", {}, ["", "in-person", "virtual", "hybrid"].map((v) =>
    el("option", { value: v, selected: (s.delivery_format || "") === v }, v || "—")));
  const msg = el("div", { class: "hidden", id: "session-msg" });
  const form = el("form", { class: "card stack", id: "session-form" },
    el("h2", {}, editing ? `Edit “${s.name}”` : "New session"),
    text("s-name", "Name", s.name, { required: true, maxlength: 500 }),
    el("div", { class: "grid2" },
      text("s-external-id", "External ID", s.external_id),
      text("s-location", "Location", s.location),
      field("s-date", "Date", el("input", { type: "date", value: s.date || "" })),
      field("s-delivery", "Delivery format", fmt),
      field("s-start", "Start time", el("input", { type: "time", value: (s.start_time || "").slice(0, 5) })),
      field("s-end", "End time", el("input", { type: "time", value: (s.end_time || "").slice(0, 5) })),
      field("s-capacity", "Maximum capacity", el("input", { type: "number", min: 0, value: s.capacity ?? "" }), "people in the room"),
      field("s-rank", "Ordering rank", el("input", { type: "number", value: s.rank ?? "" }), "higher first"),
      field("s-ce", "CE minutes", el("input", { type: "number", min: 0, value: s.ce_minutes ?? "" })),
      text("s-credit-url", "CE credit link", s.credit_url, { type: "url", placeholder: "https://…" }),
      text("s-checkin-code", "Check-in code", s.checkin_code, {}, "any case"),
      text("s-checkout-code", "Check-out code", s.checkout_code, {}, "any case"),
      text("s-access-code", "Access code", s.access_code),
      text("s-moderator-password", "Moderator password", s.moderator_password),
      text("s-levels", "Allowed registration levels", (s.registration_levels || []).join(", "), {}, "comma-separated; empty = all"),
      text("s-presenters", "Presenters", (s.presenters || []).map((p) => p.name).join(", "), {}, "comma-separated")),
    field("s-description", "Description", el("textarea", {}, s.description || "")),
    field("s-objectives", "Learning objectives", el("textarea", {}, (s.learning_objectives || []).join("\n")), "one per line"),
    el("fieldset", { class: "stack" }, el("legend", {}, "Attendance"),
      checkbox("s-checkin-required", "Attendees must check in", s.checkin_required),
      checkbox("s-checkout-required", "Attendees must check out", s.checkout_required),
      checkbox("s-registrants-only", "Registered attendees only", s.registrants_only),
      checkbox("s-hidden", "Hidden from the schedule", s.hidden)),
    el("fieldset", {}, el("legend", {}, "Fields of study (up to 7)"), fosRows(s.fields_of_study)),
    msg,
    el("div", { class: "row" }, el("button", { type: "submit", id: "save-session" }, editing ? "Save" : "Create session"),
      el("button", { type: "button", class: "secondary", onclick: () => sessionsTab(panel) }, "Cancel")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (id) => $(`#${id}`, form).value.trim();
    const blank = editing ? "" : undefined; // PUT: "" unsets; POST: omit
    const opt = (x) => (x === "" ? blank : x);
    const num = (x) => (x === "" ? blank : Number(x));
    const list = (x, sep = ",") => {
      const items = x.split(sep).map((t) => t.trim()).filter(Boolean);
      return items.length ? items : blank;
    };
    const fos = [];
    for (let i = 0; i < MAX_FIELDS; i++) {
      const name = v(`fos-name-${i}`);
      if (!name) continue;
      fos.push({ name, credits: v(`fos-credits-${i}`) || "0", codewords: v(`fos-words-${i}`).split(",").map((t) => t.trim()).filter(Boolean) });
    }
    const body = {
      name: v("s-name"), external_id: opt(v("s-external-id")), location: opt(v("s-location")),
      description: opt(v("s-description")), date: opt(v("s-date")), start_time: opt(v("s-start")),
      end_time: opt(v("s-end")), delivery_format: opt(v("s-delivery")), capacity: num(v("s-capacity")),
      rank: num(v("s-rank")), ce_minutes: num(v("s-ce")), credit_url: opt(v("s-credit-url")),
      checkin_code: opt(v("s-checkin-code")), checkout_code: opt(v("s-checkout-code")),
      access_code: opt(v("s-access-code")), moderator_password: opt(v("s-moderator-password")),
      registration_levels: list(v("s-levels")), learning_objectives: list(v("s-objectives"), "\n"),
      checkin_required: $("#s-checkin-required", form).checked,
      checkout_required: $("#s-checkout-required", form).checked,
      registrants_only: $("#s-registrants-only", form).checked,
      hidden: $("#s-hidden", form).checked,
      fields_of_study: fos.length ? fos : blank,
    };
    const presenters = list(v("s-presenters"));
    body.presenters = Array.isArray(presenters) ? presenters.map((name) => ({ name })) : presenters;
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const res = editing
      ? await api("PUT", `/api/v2/sessions/${encodeURIComponent(s.id)}`, body)
      : await api("POST", "/api/v2/sessions", body);
    if (res.ok) {
      await sessionsTab(panel);
      const done = el("p", { class: "notice ok", role: "status", id: "saved" }, editing ? "Session saved." : "Session created.");
      panel.prepend(done);
    } else {
      notice(msg, res);
      if (res.field) {
        const guess = form.querySelector(`#s-${res.field.split(/[.[]/)[0].replace(/_/g, "-")}`);
        if (guess) guess.focus();
      }
    }
  });
  clear(panel).append(form);
  $("#s-name", form).focus();
}

// --- event settings ---------------------------------------------------------------------

const APP_FIELDS = [
  ["name", "Event name"], ["start_date", "Start date", "date"], ["end_date", "End date", "date"],
  ["timezone", "Time zone", "text", "e.g. America/Chicago"], ["app_password", "Event password", "text", "attendees enter it"],
  ["moderator_password", "Moderator password"],
  ["custom_attendee_field_1", "Custom attendee field 1", "text", "label, e.g. Registration ID"],
  ["custom_attendee_field_2", "Custom attendee field 2"], ["custom_attendee_field_3", "Custom attendee field 3"],
  ["custom_attendee_field_4", "Custom attendee field 4"], ["custom_attendee_field_5", "Custom attendee field 5"],
];

async function settingsTab(panel) {
  const r = await api("GET", "/api/v2/app");
  clear(panel).append(el("h2", {}, "Event settings"));
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const msg = el("div", { class: "hidden" });
  const form = el("form", { class: "card stack", id: "settings-form" },
    el("div", { class: "grid2" }, APP_FIELDS.map(([key, label, type, hint]) =>
      field(`app-${key}`, label, el("input", { type: type || "text", value: r.data[key] ?? "" }), hint))),
    msg, el("button", { type: "submit" }, "Save settings"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const [key] of APP_FIELDS) body[key] = $(`#app-${key}`, form).value.trim(); // "" unsets
    if (body.timezone === "") body.timezone = -1;
    notice(msg, await api("PUT", "/api/v2/app", body), "Settings saved.");
  });
  panel.append(form);
}

// --- staff ------------------------------------------------------------------------------

function permBoxes(prefix, have = []) {
  return el("fieldset", {}, el("legend", {}, "Permissions"),
    PERMS.map(([p, label]) => checkbox(`${prefix}-${p}`, label, have.includes(p))));
}

function pickedPerms(prefix, root) {
  return PERMS.map(([p]) => p).filter((p) => $(`#${prefix}-${p}`, root).checked);
}

async function staffTab(panel) {
  const r = await api("GET", "/api/v2/staff");
  clear(panel).append(el("h2", {}, "Staff users"));
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, r.status === 404
      ? "Staff management is not available from this hub yet; use `rollcall staff create`." : words(r)));
    return;
  }
  const list = Array.isArray(r.data) ? r.data : (r.data.data || []);
  const tbody = el("tbody");
  for (const u of list) {
    const perms = Array.isArray(u.permissions) ? u.permissions : String(u.permissions || "").split(",").filter(Boolean);
    const prefix = `perm-${u.id}`;
    const msg = el("span", { role: "status" });
    const save = el("button", { type: "button", class: "secondary" }, "Save");
    const boxes = el("div", { class: "row" }, PERMS.map(([p, label]) => checkbox(`${prefix}-${p}`, label, perms.includes(p))),
      checkbox(`${prefix}-disabled`, "Disabled", u.disabled));
    save.addEventListener("click", async () => {
      const res = await api("PUT", `/api/v2/staff/${encodeURIComponent(u.id)}`,
        { permissions: pickedPerms(prefix, boxes), disabled: $(`#${prefix}-disabled`, boxes).checked });
      msg.textContent = res.ok ? " Saved." : " " + words(res);
    });
    tbody.append(el("tr", {}, el("td", {}, u.email, u.name ? el("div", { class: "muted" }, u.name) : null),
      el("td", {}, boxes), el("td", {}, save, msg)));
  }
  panel.append(el("div", { class: "table-wrap" }, el("table", { id: "staff-table" },
    el("thead", {}, el("tr", {}, ["Email", "Permissions", ""].map((h) => el("th", { scope: "col" }, h)))), tbody)));
  const msg = el("div", { class: "hidden" });
  const form = el("form", { class: "card stack", id: "staff-form" }, el("h2", {}, "Add a staff user"),
    el("div", { class: "grid2" },
      field("new-staff-email", "Email", el("input", { type: "email", required: true, autocomplete: "off" })),
      field("new-staff-name", "Name", el("input", { type: "text" })),
      field("new-staff-password", "Password", el("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password" }), "at least 8 characters")),
    permBoxes("new-perm", ["scan"]), msg, el("button", { type: "submit" }, "Add staff user"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const res = await api("POST", "/api/v2/staff", {
      email: $("#new-staff-email", form).value.trim(), name: $("#new-staff-name", form).value.trim() || null,
      password: $("#new-staff-password", form).value, permissions: pickedPerms("new-perm", form),
    });
    if (res.ok) await staffTab(panel); else notice(msg, res);
  });
  panel.append(form);
}

// --- API keys ---------------------------------------------------------------------------

async function keysTab(panel, created) {
  const r = await api("GET", "/admin/api/keys");
  clear(panel).append(el("h2", {}, "API keys"));
  if (created) {
    panel.append(el("div", { class: "card stack", id: "new-key" },
      el("strong", {}, `New key “${created.description}”: copy it now, it is shown only once.`),
      el("div", { class: "secret", id: "new-key-value" }, created.key)));
  }
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const tbody = el("tbody");
  for (const k of r.data) {
    const off = el("button", { type: "button", class: "secondary" }, "Disable");
    off.addEventListener("click", async () => {
      if (!confirm(`Disable the key “${k.description}”? Integrations using it stop at once.`)) return;
      const res = await api("POST", `/admin/api/keys/${k.id}/disable`);
      if (res.ok) await keysTab(panel); else alert(words(res));
    });
    tbody.append(el("tr", { "data-key": k.id }, el("td", {}, k.description), el("td", {}, el("code", {}, k.prefix + "…")),
      el("td", {}, (k.created_at || "").slice(0, 10)), el("td", {}, k.disabled_at ? "disabled" : off)));
  }
  panel.append(el("div", { class: "table-wrap" }, el("table", { id: "key-table" },
    el("thead", {}, el("tr", {}, ["Description", "Key", "Created", ""].map((h) => el("th", { scope: "col" }, h)))), tbody)));
  const msg = el("div", { class: "hidden" });
  const desc = el("input", { type: "text", required: true, maxlength: 200 });
  const form = el("form", { class: "card stack", id: "key-form" },
    field("key-description", "Description", desc, "who uses it"), msg, el("button", { type: "submit" }, "Create API key"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const res = await api("POST", "/admin/api/keys", { description: desc.value });
    if (res.ok) await keysTab(panel, res.data); else notice(msg, res);
  });
  panel.append(form);
}

// --- shell ------------------------------------------------------------------------------

const TABS = [["sessions", "Sessions", sessionsTab], ["settings", "Event settings", settingsTab],
  ["staff", "Staff", staffTab], ["keys", "API keys", keysTab]];

async function main() {
  const who = await me();
  if (!who.staff || !can(who.staff, "admin")) {
    await staffLogin(app, { title: "Admin sign-in",
      note: who.staff ? "This account is not an administrator." : "Administrators only." });
    location.reload();
    return;
  }
  $("#who").append(el("span", {}, who.staff.email + " "), el("button", { class: "link", type: "button", onclick: logout }, "Sign out"));
  const panel = el("section", { id: "panel", role: "tabpanel" });
  const bar = el("nav", { class: "tabs", role: "tablist", "aria-label": "Admin sections" });
  const select = (name) => {
    for (const b of bar.children) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    history.replaceState(null, "", `#${name}`);
    TABS.find((t) => t[0] === name)[2](panel);
  };
  for (const [name, label] of TABS) {
    bar.append(el("button", { type: "button", role: "tab", "data-tab": name, id: `tab-${name}`, onclick: () => select(name) }, label));
  }
  clear(app).append(el("h1", {}, "Admin"), el("p", {},
    el("a", { href: "/staff/dashboard" }, "Event dashboard"), " · ", el("a", { href: "/staff/scan" }, "Scanner"), " · ",
    el("a", { href: "/" }, "Attendee schedule")), bar, panel);
  const start = location.hash.slice(1);
  select(TABS.some((t) => t[0] === start) ? start : "sessions");
}

main();
