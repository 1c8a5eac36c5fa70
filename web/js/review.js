// Door conflicts (/staff/review): what offline doors decided and the hub judged differently
// on upload (the same attendee at two doors, someone removed meanwhile, a lease that ran
// out), newest first, with what each door decided. See docs/offline.md.
import { $, api, can, clear, el, fmtTime, logout, me, personName, staffLogin, words } from "./common.js";

const app = $("#app");
const KINDS = {
  double_admission: "Admitted at two doors",
  removed: "Removed or unregistered meanwhile",
  lease_expired: "Lease ran out before upload",
  capacity: "Room full on upload",
  not_in_room: "Checked out, but not in the room",
  door_refused: "Refused at the door, admitted by the hub",
  refused: "Refused by the hub",
};

function row(c, reasons) {
  const who = c.attendee ? `${personName(c.attendee)}${c.attendee.badge_id ? " (" + c.attendee.badge_id + ")" : ""}`
    : (c.presented || "Unknown");
  const other = c.other ? `${c.other.actor || c.other.source || "another door"} admitted at ${fmtTime(c.other.at)}` : "";
  return el("tr", { "data-kind": c.kind },
    el("td", {}, KINDS[c.kind] || c.kind),
    el("td", {}, c.session_name),
    el("td", {}, who),
    el("td", {}, `${c.door || "a door"}: ${c.door_decided === "ok" ? (c.action === "checkin" ? "admitted" : "checked out") : c.door_decided}`
      + (c.scanned_at ? ` at ${fmtTime(c.scanned_at)}` : "")),
    el("td", {}, reasons[c.hub_result] || c.hub_result),
    el("td", {}, other));
}

async function main() {
  const who = await me();
  if (!who.staff || !can(who.staff, "scan")) {
    await staffLogin(app, { title: "Sign in to review door conflicts",
      note: who.staff ? "This account lacks the scan permission." : "Staff with the scan permission." });
    location.reload();
    return;
  }
  $("#who").append(el("span", {}, who.staff.email + " "), el("button", { class: "link", type: "button", onclick: logout }, "Sign out"));
  const sid = new URL(location.href).searchParams.get("session");
  const [list, rs] = await Promise.all([
    api("GET", sid ? `/api/v2/sessions/${encodeURIComponent(sid)}/conflicts` : "/api/v2/conflicts"),
    api("GET", "/api/v2/reasons")]);
  if (!list.ok) {
    clear(app).append(el("p", { class: "notice bad" }, words(list)));
    return;
  }
  const reasons = rs.ok ? Object.fromEntries(Object.entries(rs.data).map(([k, v]) => [k, v.message])) : {};
  if (!list.data.length) {
    clear(app).append(el("p", { class: "muted", id: "none" }, "No conflicts: every uploaded scan was judged as its door judged it."));
    return;
  }
  clear(app).append(el("div", { class: "table-wrap card" }, el("table", { id: "conflicts" },
    el("thead", {}, el("tr", {}, ["What", "Session", "Attendee", "This door decided", "The hub said", "The other door"]
      .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, list.data.map((c) => row(c, reasons))))));
}

main();
