// The real-time client: one WebSocket with resume. See docs/realtime.md for the protocol.
//
// On connect the hub sends a `snapshot` (counts, latest records, seq); then deltas, each with
// the session's `seq` (several deltas may come as one `batch` frame: its `events`, in order). On a drop we reconnect with `?since=<last seq>` and get exactly what we
// missed (or a fresh snapshot). A gap in `seq` is treated like a drop. `counts` messages carry
// absolute values, so seeing one twice is harmless. Close codes 4400-4499 mean "do not
// reconnect" (bad credentials, forbidden, unknown session); anything else means "reconnect".

const HEARTBEAT_DEADLINE_MS = 45000; // the hub pings every 20 s

export class Live {
  /**
   * @param {string} path  e.g. "/ws/sessions/abc123"
   * @param {object} on    {snapshot(msg), message(msg), state(state, detail)}
   * @param {object} opts  {ordered: true for one session's channel (seq gaps trigger resume)}
   */
  constructor(path, on, { ordered = true, password = null } = {}) {
    this.path = path;
    this.password = password; // a moderator password, sent as the first frame
    this.on = on;
    this.ordered = ordered;
    this.seq = null;
    this.epoch = null;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.watchdog = null;
    this.reconnects = 0;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const since = this.ordered && this.seq !== null ? `?since=${this.seq}` : "";
    return `${proto}//${location.host}${this.path}${since}`;
  }

  start() {
    this.stopped = false;
    this.open();
    window.addEventListener("online", () => this.kick());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.kick();
    });
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.watchdog);
    if (this.ws) this.ws.close(1000);
  }

  /** Reconnect now if we are not connected (the network came back, the tab woke up). */
  kick() {
    if (this.stopped) return;
    if (!this.ws || this.ws.readyState > 1) {
      this.attempt = 0;
      this.open();
    }
  }

  setState(state, detail) {
    if (this.on.state) this.on.state(state, detail);
  }

  open() {
    clearTimeout(this.retryTimer);
    this.setState(this.reconnects ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (_) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.degraded = false;
      if (this.password) ws.send(JSON.stringify({ type: "auth", password: this.password }));
      this.alive();
    };
    ws.onmessage = (ev) => {
      this.alive();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (ev.code >= 4400 && ev.code < 4500) {
        this.stopped = true;
        this.setState("stopped", ev.reason || `closed (${ev.code})`);
        return;
      }
      this.retry();
    };
    ws.onerror = () => {};
  }

  retry() {
    this.reconnects += 1;
    this.setState("reconnecting");
    const base = Math.min(10000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.open(), base / 2 + Math.random() * base / 2);
  }

  alive() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      // No frame (not even a heartbeat) for too long: the connection is dead.
      if (this.ws) this.ws.close(4000);
      this.retry();
    }, HEARTBEAT_DEADLINE_MS);
  }

  /** Send a client frame (e.g. a moderator's prompt); false when not connected. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drop this connection and resume from our last seq (used on a seq gap). */
  resume() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(4000);
    this.open();
  }

  handle(msg) {
    const type = msg.type;
    if (type === "batch") {
      // Several deltas in one frame, in seq order: apply each as if it had come alone, and
      // stop at a gap (resume() has replaced the connection; the rest comes again from it).
      const ws = this.ws;
      for (const ev of msg.events || []) {
        this.handle(ev);
        if (this.ws !== ws) return;
      }
      return;
    }
    if (type === "ping" || type === "heartbeat") {
      if (this.ws && this.ws.readyState === 1) {
        try { this.ws.send(JSON.stringify({ type: "pong" })); } catch (_) { /* closing */ }
      }
      this.setState(this.degraded ? "degraded" : "live");
      return;
    }
    if (type === "pong") {
      return;
    }
    if (type === "error") {
      if (this.on.error) this.on.error(msg);
      return;
    }
    if (type === "status") {
      // live:false = this hub cannot hear the other workers for now (it polls meanwhile).
      this.degraded = !msg.live;
      this.setState(msg.live ? "live" : "degraded", msg.reason);
      return;
    }
    if (type === "snapshot" || type === "event_snapshot") {
      if (typeof msg.seq === "number") this.seq = msg.seq;
      if (msg.epoch) this.epoch = msg.epoch;
      this.setState(this.degraded ? "degraded" : "live");
      if (this.on.snapshot) this.on.snapshot(msg);
      return;
    }
    if (this.ordered && typeof msg.seq === "number") {
      if (this.epoch && msg.epoch && msg.epoch !== this.epoch) {
        // The session's history was reset: start over from a snapshot.
        this.seq = null;
        this.epoch = null;
        this.resume();
        return;
      }
      if (this.seq !== null && msg.seq <= this.seq && type !== "counts") return; // seen it
      if (this.seq !== null && msg.seq > this.seq + 1 && type !== "counts") {
        this.resume();
        return;
      }
      if (this.seq === null || msg.seq > this.seq) this.seq = msg.seq;
    }
    this.setState(this.degraded ? "degraded" : "live");
    if (this.on.message) this.on.message(msg);
  }
}

/** Wire a Live's state to a visible indicator element. */
export function indicator(node) {
  const words = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
    degraded: "Live (catching up)", stopped: "Stopped" };
  return (state, detail) => {
    node.textContent = words[state] + (state === "stopped" && detail ? `: ${detail}` : "");
    node.classList.toggle("on", state === "live");
    node.classList.toggle("off", state !== "live");
    node.dataset.state = state;
  };
}
