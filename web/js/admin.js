// Admin (/admin): sessions (every field, and in bulk by spreadsheet), attendees, reports,
// event settings, staff users, API keys. Sessions, attendees, reports and settings go
// through the REST API with the admin's cookie; API keys through /admin/api (the REST API
// has none); staff through /api/v2/staff.
import { $, api, can, clear, cookie, el, logout, me, show, staffLogin, words } from "./common.js";

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
  panel.append(bulkActions("sessions", "sessions", () => sessionsTab(panel)));
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
      checkbox("s-hidden", "Hidden from the schedule", s.hidden),
      checkbox("s-self-registration", "Attendees may register themselves", s.self_registration)),
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
      self_registration: $("#s-self-registration", form).checked,
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

// --- bulk actions: download, upload, preview, apply ---------------------------------------

const MAX_PREVIEW_ROWS = 500;

/** POST a file (as the form field `file`) with the page's CSRF token; the API's answer. */
async function sendFile(url, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const res = await fetch(url, { method: "POST", body: form, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": cookie("rollcall_csrf") } });
    const payload = await res.json().catch(() => null);
    if (res.ok) return { ok: true, status: res.status, data: payload && payload.data };
    return { ok: false, status: res.status, reason: payload && payload.reason,
      message: (payload && payload.message) || `The hub answered ${res.status}.`,
      errors: (payload && payload.errors) || [] };
  } catch (err) {
    return { ok: false, status: 0, network: true, message: "No connection to the hub.", errors: [] };
  }
}

function shownValue(v) {
  if (v === null || v === undefined || v === "") return "—";
  return Array.isArray(v) ? v.join("; ") : String(v);
}

/** The preview table: one line per row of the file (its action and changes, or its
 * problems), the file's own problems (row 1) first. */
function previewTable(prefix, result, errors) {
  const byRow = new Map();
  const line = (row) => {
    if (!byRow.has(row)) byRow.set(row, { row, action: null, changes: {}, errors: [] });
    return byRow.get(row);
  };
  for (const r of result ? result.rows : []) Object.assign(line(r.row), { action: r.action, changes: r.changes });
  for (const e of errors) line(e.row).errors.push(e.column ? `${e.column}: ${e.message}` : e.message);
  const lines = [...byRow.values()].sort((a, b) => a.row - b.row);
  const tbody = el("tbody");
  for (const l of lines.slice(0, MAX_PREVIEW_ROWS)) {
    const changes = Object.entries(l.changes).map(([k, [from, to]]) =>
      el("div", {}, el("strong", {}, k), `: ${shownValue(from)} → ${shownValue(to)}`));
    tbody.append(el("tr", { "data-row": l.row, class: l.errors.length ? "full" : null },
      el("td", { class: "num" }, String(l.row)),
      el("td", {}, l.errors.length ? "not read" : l.action),
      el("td", {}, changes.length ? changes : (l.errors.length ? "" : "—")),
      el("td", {}, l.errors.map((m) => el("div", {}, m)))));
  }
  const wrap = el("div", { class: "table-wrap" }, el("table", { id: `${prefix}-preview` },
    el("thead", {}, el("tr", {}, ["Row", "Action", "Changes", "Errors"].map((h) => el("th", { scope: "col" }, h)))),
    tbody));
  if (lines.length > MAX_PREVIEW_ROWS) {
    wrap.append(el("p", { class: "muted" }, `The first ${MAX_PREVIEW_ROWS} of ${lines.length} rows are shown.`));
  }
  return wrap;
}

/** "Bulk actions" for `what` ("sessions" or "attendees"): download the current data as CSV
 * or XLSX, upload a file, see what each row would do, apply it. */
function bulkActions(prefix, what, onApplied) {
  const file = el("input", { type: "file", id: `${prefix}-file`,
    accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
  const preview = el("button", { type: "button", id: `${prefix}-preview-button`, class: "secondary" }, "Preview");
  const apply = el("button", { type: "button", id: `${prefix}-apply`, disabled: true }, "Apply");
  const msg = el("div", { class: "hidden", id: `${prefix}-bulk-msg` });
  const out = el("div", { id: `${prefix}-bulk-result` });
  const say = (ok, text) => {
    msg.className = "notice " + (ok ? "ok" : "bad");
    msg.setAttribute("role", ok ? "status" : "alert");
    msg.textContent = text;
    show(msg);
  };
  const base = `/api/v2/${what}`;
  file.addEventListener("change", () => { apply.disabled = true; clear(out); show(msg, false); });
  preview.addEventListener("click", async () => {
    if (!file.files.length) return say(false, "Choose a CSV or XLSX file first.");
    apply.disabled = true;
    preview.disabled = true;
    const res = await sendFile(`${base}/import?dry_run=true`, file.files[0]);
    preview.disabled = false;
    clear(out);
    if (!res.ok) {
      say(false, res.message);
      if (res.errors.length) out.append(previewTable(prefix, null, res.errors));
      return;
    }
    const d = res.data;
    const problems = d.errors.length;
    say(!problems, `${d.created} to create, ${d.updated} to update, ${d.unchanged} unchanged` +
      (problems ? `; ${problems} problem${problems > 1 ? "s" : ""}: fix the file and preview it again.` : "."));
    out.append(previewTable(prefix, d, d.errors));
    apply.disabled = problems > 0 || d.created + d.updated === 0;
  });
  apply.addEventListener("click", async () => {
    apply.disabled = true;
    const res = await sendFile(`${base}/import`, file.files[0]);
    if (!res.ok) {
      say(false, res.message);
      clear(out);
      if (res.errors.length) out.append(previewTable(prefix, null, res.errors));
      return;
    }
    await onApplied();
    const done = el("p", { class: "notice ok", role: "status", id: `${prefix}-applied` },
      `Applied: ${res.data.created} created, ${res.data.updated} updated, ${res.data.unchanged} unchanged.`);
    const panel = $("#panel");
    if (panel) panel.prepend(done);
  });
  return el("details", { class: "card stack", id: `${prefix}-bulk` },
    el("summary", {}, el("strong", {}, "Bulk actions")),
    el("p", {}, "Download current data: ",
      el("a", { href: `${base}/export?format=csv`, download: `${what}.csv`, id: `${prefix}-download-csv` }, "CSV"), " · ",
      el("a", { href: `${base}/export?format=xlsx`, download: `${what}.xlsx`, id: `${prefix}-download-xlsx` }, "Excel (XLSX)")),
    el("p", { class: "muted" }, "Edit the file and upload it: rows with an id update that record, the others are created. " +
      "A column you leave out is left alone; an empty cell clears the field. Nothing is written until you apply, " +
      "and a file with a problem writes nothing."),
    el("div", { class: "row" }, field(`${prefix}-file`, "Spreadsheet (CSV or XLSX)", file), preview, apply),
    msg, out);
}

// --- attendees ----------------------------------------------------------------------------

const PAGE = 50;

async function attendeesTab(panel, q = "", offset = 0) {
  const r = await api("GET", `/api/v2/attendees?limit=${PAGE}&offset=${offset}&q=${encodeURIComponent(q)}`);
  clear(panel).append(el("h2", {}, "Attendees"),
    bulkActions("attendees", "attendees", () => attendeesTab(panel, q, offset)));
  const search = el("input", { type: "search", id: "attendee-search", value: q, placeholder: "name, email, external ID or badge" });
  const form = el("form", { class: "row", id: "attendee-search-form", role: "search" },
    field("attendee-search", "Search attendees", search),
    el("button", { type: "submit", class: "secondary" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    attendeesTab(panel, search.value.trim(), 0);
  });
  panel.append(form);
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const { count, attendees } = r.data;
  const tbody = el("tbody");
  for (const a of attendees) {
    tbody.append(el("tr", { "data-attendee": a.external_id || a.email || "" },
      el("td", {}, [a.first_name, a.last_name].filter(Boolean).join(" ") || "—"),
      el("td", {}, a.email || ""), el("td", {}, a.external_id || ""), el("td", {}, a.badge_id || ""),
      el("td", {}, a.registration_level || "")));
  }
  panel.append(el("p", { class: "muted", id: "attendee-count", role: "status" },
    count ? `${offset + 1}–${offset + attendees.length} of ${count} attendee${count === 1 ? "" : "s"}` : "No attendees found."),
    el("div", { class: "table-wrap" }, el("table", { id: "attendee-table" },
      el("thead", {}, el("tr", {}, ["Name", "Email", "External ID", "Badge", "Level"].map((h) => el("th", { scope: "col" }, h)))),
      tbody)),
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => attendeesTab(panel, q, Math.max(0, offset - PAGE)) }, "Previous"),
      el("button", { type: "button", class: "secondary", disabled: offset + PAGE >= count, onclick: () => attendeesTab(panel, q, offset + PAGE) }, "Next")));
}

// --- reports ------------------------------------------------------------------------------

async function reportsTab(panel) {
  const r = await api("GET", "/api/v2/sessions");
  clear(panel).append(el("h2", {}, "Reports"));
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const which = el("select", {}, el("option", { value: "" }, "The whole event"),
    (r.data.data || []).map((s) => el("option", { value: s.id }, [s.name, s.date].filter(Boolean).join(" · "))));
  const fmt = el("select", {}, el("option", { value: "csv" }, "CSV"), el("option", { value: "xlsx" }, "Excel (XLSX)"));
  const attendance = el("a", { class: "button", id: "report-attendance" }, "Download the attendance report");
  const scans = el("a", { class: "button", id: "report-scans" }, "Download the scans report");
  const update = () => {
    const q = `format=${fmt.value}` + (which.value ? `&session_id=${encodeURIComponent(which.value)}` : "");
    const name = which.value || "event";
    attendance.href = `/api/v2/reports/attendance?${q}`;
    attendance.download = `attendance-${name}.${fmt.value}`;
    scans.href = `/api/v2/reports/scans?${q}`;
    scans.download = `scans-${name}.${fmt.value}`;
  };
  which.addEventListener("change", update);
  fmt.addEventListener("change", update);
  update();
  panel.append(el("div", { class: "card stack", id: "reports" },
    el("div", { class: "grid2" }, field("report-session", "Session", which), field("report-format", "Format", fmt)),
    el("p", { class: "muted" }, "Attendance: one row per attendee per session attended or registered for, with times, " +
      "time attended, credits and codewords. Scans: every check-in and check-out asked at the door, accepted or refused, " +
      "with the reason and who scanned."),
    el("div", { class: "row" }, attendance, scans)));
}

// --- event settings ---------------------------------------------------------------------

const APP_FIELDS = [
  ["name", "Event name"], ["start_date", "Start date", "date"], ["end_date", "End date", "date"],
  ["timezone", "Time zone", "text", "e.g. America/Chicago"], ["app_password", "Event password", "text", "attendees enter it"],
  ["moderator_password", "Moderator password"],
  ["custom_attendee_field_1", "Custom attendee field 1", "text", "label, e.g. Registration ID"],
  ["custom_attendee_field_2", "Custom attendee field 2"], ["custom_attendee_field_3", "Custom attendee field 3"],
  ["custom_attendee_field_4", "Custom attendee field 4"], ["custom_attendee_field_5", "Custom attendee field 5"],
  ["certificate_title", "Certificate title", "text", "default: Certificate of Continuing Education"],
  ["certificate_issuer", "Certificate issuer"], ["certificate_sponsor_id", "Sponsor ID"],
  ["certificate_signature", "Signature text", "text", "name and role under the signature line"],
];
// The attendee's session status line: one message per state, at most 35 characters.
const STATUS_STATES = [
  ["not_registered", "Not registered"], ["registered", "Registered"], ["checked_in", "Checked in"],
  ["checked_out", "Checked out"], ["credit_available", "Credit available"], ["credit_claimed", "Credit claimed"],
];

async function settingsTab(panel) {
  const r = await api("GET", "/api/v2/app");
  clear(panel).append(el("h2", {}, "Event settings"));
  if (!r.ok) {
    panel.append(el("p", { class: "notice bad" }, words(r)));
    return;
  }
  const msg = el("div", { class: "hidden" });
  const selfCredit = el("input", { type: "checkbox", id: "app-self_report_credit" });
  selfCredit.checked = r.data.self_report_credit !== false;
  const messages = r.data.status_messages || {};
  const form = el("form", { class: "card stack", id: "settings-form" },
    el("div", { class: "grid2" }, APP_FIELDS.map(([key, label, type, hint]) =>
      field(`app-${key}`, label, el("input", { type: type || "text", value: r.data[key] ?? "" }), hint))),
    el("label", { class: "check" }, selfCredit, "Self-reported sessions earn CE credit"),
    el("fieldset", {}, el("legend", {}, "Session status messages (at most 35 characters)"),
      el("div", { class: "grid2" }, STATUS_STATES.map(([key, label]) =>
        field(`msg-${key}`, label, el("input", { type: "text", maxlength: "35", value: messages[key] ?? "" }))))),
    msg, el("button", { type: "submit" }, "Save settings"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const [key] of APP_FIELDS) body[key] = $(`#app-${key}`, form).value.trim(); // "" unsets
    if (body.timezone === "") body.timezone = -1;
    body.self_report_credit = selfCredit.checked;
    body.status_messages = Object.fromEntries(STATUS_STATES.map(([key]) =>
      [key, $(`#msg-${key}`, form).value.trim() || null]));
    notice(msg, await api("PUT", "/api/v2/app", body), "Settings saved.");
  });
  panel.append(form);

  // The certificate's logo: a PNG or JPEG sent as the body.
  const logo = el("input", { type: "file", id: "app-logo", accept: "image/png,image/jpeg" });
  const logoMsg = el("div", { class: "hidden" });
  const upload = el("button", { type: "submit" }, "Upload logo");
  const remove = el("button", { type: "button", class: "secondary" }, "Remove logo");
  const logoForm = el("form", { class: "card stack", id: "logo-form" },
    el("h3", {}, "Certificate logo"),
    el("p", { class: "muted" }, r.data.certificate_logo ? "A logo is set." : "No logo."),
    field("app-logo", "PNG or JPEG, at most 1 MiB", logo), logoMsg, el("div", { class: "row" }, upload, remove));
  logoForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = logo.files[0];
    if (!file) return;
    const res = await fetch("/api/v2/app/certificate-logo", { method: "PUT", body: file, credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": file.type || "image/png", "X-CSRF-Token": cookie("rollcall_csrf") } });
    const payload = await res.json().catch(() => null);
    notice(logoMsg, res.ok ? { ok: true } : { ok: false, status: res.status, message: payload && payload.message },
      "Logo saved.");
  });
  remove.addEventListener("click", async () => {
    notice(logoMsg, await api("DELETE", "/api/v2/app/certificate-logo"), "Logo removed.");
  });
  panel.append(logoForm);
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

const TABS = [["sessions", "Sessions", sessionsTab], ["attendees", "Attendees", attendeesTab],
  ["reports", "Reports", reportsTab], ["settings", "Event settings", settingsTab],
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
