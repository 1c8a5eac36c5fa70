// A door that keeps working offline (the staff scanner and the kiosk). See docs/offline.md.
//
// - The door list (GET /api/v2/sessions/{id}/doorlist: the session's settings and every
//   attendee with badge id, names, registration, level and whether in the room) is kept in
//   IndexedDB, refreshed with its ETag and `?since=seq`, and kept current from the live channel.
// - With the hub unreachable, a scan is decided here by the hub's own door rules (decide(),
//   a port of hub/domain/rules.py for a door standing in the room: no codes asked), and an
//   admission or check-out is queued with its idempotency key and the time of the scan.
// - Capacity offline: only the seats of a seat lease (POST .../leases) may be filled; without
//   a lease a session with a capacity refuses `capacity_full`, as the hub would once full.
// - Back online, the queue goes up in order through POST .../attendance/batch; each action says
//   what this door decided, so the hub lists any it judges differently for staff to review.
import { api, newKey } from "./common.js";

const DB_NAME = "rollcall-doors";
const STORE = "lists";

function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbGet(key) {
  const db = await idb();
  return new Promise((resolve) => {
    const req = db.transaction(STORE).objectStore(STORE).get(key);
    req.onsuccess = () => resolve(req.result || null);
    req.onerror = () => resolve(null);
  });
}

async function idbPut(key, value) {
  const db = await idb();
  return new Promise((resolve) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = () => resolve(true);
    tx.onerror = () => resolve(false);
  });
}

// --- the rules, as the hub has them (hub/domain/rules.py) --------------------------------

const fold = (s) => String(s).trim().toLowerCase();

/** A registration level is allowed when the session lists none, or lists it (any case). */
export function levelAllowed(levels, level) {
  if (!levels || !levels.length) return true;
  if (level === null || level === undefined) return false;
  return levels.some((allowed) => fold(allowed) === fold(level));
}

/**
 * The hub's decision for a door in the room (scanner, kiosk): null when admitted, else the
 * refusal's reason, in the hub's order. Capacity offline is the lease's: a seat is free only
 * while the lease runs and has one left (the hub counts every other seat as taken).
 */
export function decide(settings, person, mode, lease, now = Date.now()) {
  if (!person) return "unknown_attendee";
  if (mode === "checkout") return person.in_room ? null : "not_checked_in";
  if (person.in_room) return "already_checked_in";
  if (settings.registrants_only && !person.registered) return "not_registered";
  if (!levelAllowed(settings.registration_levels, person.registration_level)) return "registration_level";
  if (settings.capacity !== null && settings.capacity !== undefined && !leaseHasSeat(lease, now)) {
    return "capacity_full";
  }
  return null;
}

export function leaseHasSeat(lease, now = Date.now()) {
  return !!lease && Date.parse(lease.expires_at) > now && lease.used < lease.seats;
}

// --- the door list -------------------------------------------------------------------------

export class DoorList {
  constructor(sessionId) {
    this.sid = sessionId;
    this.data = null; // {session, seq, epoch, etag, attendees: [...]}
    this.index = new Map(); // "badge_id:X" / "external_id:X" -> person
  }

  get settings() { return this.data ? this.data.session : null; }

  reindex() {
    this.index.clear();
    for (const p of (this.data ? this.data.attendees : [])) {
      if (p.badge_id) this.index.set("badge_id:" + p.badge_id, p);
      if (p.external_id) this.index.set("external_id:" + p.external_id, p);
    }
  }

  find(badge) {
    return this.index.get("badge_id:" + badge) || this.index.get("external_id:" + badge) || null;
  }

  async load() {
    this.data = await idbGet(this.sid);
    this.reindex();
    return this;
  }

  save() { if (this.data) idbPut(this.sid, this.data); }

  /** Bring the list up to date: the changes since its seq, or the whole list (ETag). */
  async refresh() {
    const base = `/api/v2/sessions/${encodeURIComponent(this.sid)}/doorlist`;
    const url = this.data ? `${base}?since=${this.data.seq}` : base;
    const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json",
      ...(this.data && this.data.etag ? { "If-None-Match": this.data.etag } : {}) } }).catch(() => null);
    if (!res || res.status === 304 || !res.ok) return !!res && res.status < 500;
    const body = await res.json().catch(() => null);
    if (!body || !body.data) return false;
    const d = body.data;
    if (d.full || !this.data) {
      this.data = { session: d.session, seq: d.seq, epoch: d.epoch, counts: d.counts,
        etag: d.full ? res.headers.get("etag") : null, attendees: d.attendees };
      this.reindex();
    } else {
      for (const p of d.attendees) this.upsert(p);
      Object.assign(this.data, { session: d.session, seq: d.seq, epoch: d.epoch, counts: d.counts,
        etag: null });
    }
    this.save();
    return true;
  }

  upsert(p) {
    const old = (p.badge_id && this.index.get("badge_id:" + p.badge_id))
      || (p.external_id && this.index.get("external_id:" + p.external_id));
    if (old) Object.assign(old, p);
    else this.data.attendees.push(p);
    this.reindex();
  }

  /** A live frame (checkin, checkout, removed, cleared, counts...). */
  applyLive(msg) {
    if (!this.data) return;
    if (msg.type === "checkin" || msg.type === "checkout") {
      const u = (msg.record && msg.record.user) || {};
      const p = (u.badge_id && this.find(u.badge_id)) || (u.external_id && this.find(u.external_id));
      if (p) p.in_room = msg.type === "checkin";
      if (typeof msg.seq === "number" && msg.seq > this.data.seq) this.data.seq = msg.seq;
      this.save();
    } else if (msg.type === "removed" || msg.type === "cleared" || msg.type === "preload") {
      this.refresh();
    }
  }

  /** What this door did itself (an answer, or an offline decision). */
  mark(person, mode) {
    if (!person) return;
    person.in_room = mode === "checkin";
    this.save();
  }
}

// --- seat leases -----------------------------------------------------------------------------

const leaseKey = (sid) => "rollcall.lease." + sid;

export function currentLease(sid) {
  const lease = JSON.parse(localStorage.getItem(leaseKey(sid)) || "null");
  if (lease && Date.parse(lease.expires_at) <= Date.now()) {
    localStorage.removeItem(leaseKey(sid));
    return null;
  }
  return lease;
}

export function saveLease(sid, lease) {
  if (lease) localStorage.setItem(leaseKey(sid), JSON.stringify(lease));
  else localStorage.removeItem(leaseKey(sid));
}

/** Take a lease of `seats`; the lease, or the failed answer. */
export async function takeLease(sid, seats, ttlS = 900) {
  const res = await api("POST", `/api/v2/sessions/${encodeURIComponent(sid)}/leases`,
    { seats, ttl_s: ttlS });
  if (res.ok) {
    const d = res.data;
    saveLease(sid, { id: d.id, seats: d.seats, used: 0, expires_at: d.expires_at });
  }
  return res;
}

/** Give back what the lease still holds. */
export async function returnLease(sid) {
  const lease = currentLease(sid);
  if (!lease) return true;
  const res = await api("DELETE", `/api/v2/sessions/${encodeURIComponent(sid)}/leases/${encodeURIComponent(lease.id)}`);
  if (res.ok || res.status === 404) saveLease(sid, null);
  return res.ok;
}

/**
 * Seats to ask for when the network looks poor: ten minutes of the recent arrival rate
 * (admissions in the last five minutes), at least 3 and at most 30.
 */
export function leaseSize(arrivals, now = Date.now()) {
  const recent = arrivals.filter((t) => now - t < 5 * 60 * 1000).length;
  return Math.max(3, Math.min(30, Math.ceil((recent / 5) * 10)));
}

// --- the queue ---------------------------------------------------------------------------

const QUEUE_KEY = "rollcall.scan.pending";

export const pending = () => JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
const savePending = (list) => localStorage.setItem(QUEUE_KEY, JSON.stringify(list));

/** Queue one door action decided here: its own key and the time of the scan. */
export function enqueue(sid, mode, body) {
  const item = { session: sid, mode, body: { ...body, idempotency_key: body.idempotency_key || newKey("scan"),
    timestamp: body.timestamp || new Date().toISOString() } };
  savePending([...pending(), item]);
  return item;
}

/**
 * Upload the queue in order, one batch (at most 500 actions) per session at a time. Calls
 * `each(item, answer)` for every answer. Returns "done", "offline" (the hub is still away;
 * the rest waits), or "error" (the hub refused the upload itself: {status, message}).
 */
export async function upload(each) {
  for (;;) {
    const queue = pending();
    if (!queue.length) return "done";
    const sid = queue[0].session;
    const part = [];
    for (const item of queue) {
      if (item.session !== sid || part.length >= 500) break;
      part.push(item);
    }
    const res = await api("POST", `/api/v2/sessions/${encodeURIComponent(sid)}/attendance/batch`,
      { actions: part.map((it) => ({ action: it.mode, ...it.body })) }, { timeoutMs: 30000 });
    if (res.network || [502, 503, 504].includes(res.status)) return "offline";
    const sent = new Set(part.map((it) => it.body.idempotency_key));
    if (!res.ok && res.status !== 404) return { status: res.status, message: res.message };
    savePending(pending().filter((it) => !sent.has(it.body.idempotency_key)));
    const results = res.ok ? res.data.results : part.map(() => ({ code: "404", reason: "not_found",
      message: res.message }));
    part.forEach((it, n) => each(it, results[n]));
  }
}
