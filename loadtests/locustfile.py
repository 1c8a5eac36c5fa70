"""Locust: the door rush as people make it, against any running hub.

    locust -f loadtests/locustfile.py --headless -u 300 -r 50 -t 2m \\
        --host http://127.0.0.1:8000 --api-key "$ROLLCALL_API_KEY"

Who comes (weights):

- ``DoorScanner`` (10): a staffed door scanning distinct badges into the keynote (API key,
  source ``scan``), one after another;
- ``AttendeeWithCode`` (3): an attendee on their phone: identifies by email, then checks in
  with the session's code (source ``web``);
- ``Kiosk`` (2): a tablet signed in by staff and locked to the keynote, scanning badges;
- ``Dashboard`` (2): a moderator screen holding ``/ws/sessions/{id}``; it reports *push lag*
  (the time from a check-in's acknowledgement at a door to its arrival here) as the Locust
  metric ``WS push lag (ack -> dashboard)``, and every gap in ``seq`` as a failure;
- ``Integrator`` (1): a partner system polling ``GET /attendance`` and ``GET /counts``.

Every door user retries a scan that hit a network error with the same idempotency key, as a
real phone would; the retry shows as ``... (retry)`` in the statistics.

Without ``--session``, the test start creates a keynote (capacity = attendees, check-in code
``KEYNOTE``), ``--attendees`` registered attendees and a kiosk staff user. Push lag is measured
inside one Locust process (the doors' acknowledgement times are shared in memory): run it
without ``--processes``/workers, or read push lag per process.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from locust import FastHttpUser, HttpUser, between, constant, events, task
from locust.env import Environment

KEYNOTE_CODE = "KEYNOTE"
KIOSK_PASSWORD = "kiosk-password-for-locust"


class Shared:
    """What every simulated user of this process shares."""

    session: str = ""
    prefix: str = ""
    attendees: int = 0
    api_key: str = ""
    kiosk_email: str = ""
    next_badge = itertools.count()
    lock = threading.Lock()
    acks: OrderedDict[int, float] = OrderedDict()  # seq -> monotonic time of the 200
    ACKS_KEPT = 200_000

    @classmethod
    def take(cls) -> int:
        """A badge nobody has scanned yet; once all are used, a random one (a re-scan)."""
        i = next(cls.next_badge)
        return i if i < cls.attendees else random.randrange(cls.attendees)

    @classmethod
    def acked(cls, seq: int) -> None:
        with cls.lock:
            cls.acks[seq] = time.monotonic()
            while len(cls.acks) > cls.ACKS_KEPT:
                cls.acks.popitem(last=False)


def badge(i: int) -> str:
    return f"{Shared.prefix}-B{i:07d}"


def email(i: int) -> str:
    return f"{Shared.prefix.lower()}-{i}@locust.example"


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--api-key", default=os.environ.get("ROLLCALL_API_KEY", ""),
                        help="API key (or ROLLCALL_API_KEY)")
    parser.add_argument("--session", default="", help="use this session instead of creating one")
    parser.add_argument("--prefix", default="", help="badge prefix of an existing --session")
    parser.add_argument("--attendees", type=int, default=5000,
                        help="attendees to create (or that exist under --prefix)")
    parser.add_argument("--kiosk-email", default="", help="staff with scan permission, and "
                        "ROLLCALL_KIOSK_PASSWORD, for an existing --session")


def _api(env: Environment, method: str, path: str, body: Any = None) -> Any:
    import httpx

    assert env.host, "--host is required"
    r = httpx.request(method, env.host.rstrip("/") + path, json=body, timeout=120,
                      headers={"API-Key": Shared.api_key})
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
    return r.json().get("data")


@events.test_start.add_listener
def _setup(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    assert opts is not None
    Shared.api_key = opts.api_key
    if not Shared.api_key:
        raise RuntimeError("pass --api-key or set ROLLCALL_API_KEY "
                           "(`rollcall apikey create --description locust`)")
    Shared.attendees = opts.attendees
    if opts.session:
        Shared.session, Shared.prefix = opts.session, opts.prefix
        Shared.kiosk_email = opts.kiosk_email
        return
    Shared.prefix = f"L{uuid.uuid4().hex[:6]}"
    data = _api(environment, "POST", "/api/v2/sessions",
                {"name": f"Keynote (Locust {Shared.prefix})", "capacity": opts.attendees,
                 "checkin_code": KEYNOTE_CODE})
    Shared.session = data["id"]
    for start in range(0, opts.attendees, 2000):
        people = [{"external_id": f"{Shared.prefix}-E{i:07d}", "first_name": f"Guest{i}",
                   "last_name": "Locust", "email": email(i), "badge_id": badge(i),
                   "sessions": [Shared.session]}
                  for i in range(start, min(opts.attendees, start + 2000))]
        _api(environment, "POST", "/api/v2/attendees", people)
    Shared.kiosk_email = f"kiosk-{Shared.prefix.lower()}@locust.example"
    _api(environment, "POST", "/api/v2/staff",
         {"email": Shared.kiosk_email, "permissions": ["scan"], "password": KIOSK_PASSWORD})
    print(f"locust: keynote {Shared.session}, {opts.attendees} attendees ({Shared.prefix})")


def _ws_event(environment: Environment, name: str, ms: float, exc: Exception | None) -> None:
    environment.events.request.fire(request_type="WS", name=name, response_time=ms,
                                    response_length=0, exception=exc, context={})


class DoorMixin:
    """A check-in with retries on network errors, under the same idempotency key."""

    client: Any

    def door(self, name: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        body = {**body, "idempotency_key": uuid.uuid4().hex}
        path = f"/api/v2/sessions/{Shared.session}/attendance/checkin"
        for attempt in range(3):
            label = name if attempt == 0 else f"{name} (retry)"
            with self.client.post(path, data=json.dumps(body), headers=headers, name=label,
                                  catch_response=True) as r:
                if r.status_code == 0 or r.status_code >= 500:
                    r.failure(f"network or server error: {r.error or r.status_code}")
                    continue  # the phone tries again, same key
                if r.status_code == 200:
                    seq = (r.json().get("data") or {}).get("seq")
                    if isinstance(seq, int):
                        Shared.acked(seq)
                    r.success()
                elif r.status_code == 409 and r.json().get("reason") in (
                        "already_checked_in", "capacity_full"):
                    r.success()  # a re-scan, or a full room: the door's correct answer
                else:
                    r.failure(f"{r.status_code} {r.text[:200]}")
                return


class DoorScanner(DoorMixin, FastHttpUser):
    """Staff at a door with a handheld scanner: scan, answer, next person."""

    weight = 10
    wait_time = between(0.05, 0.3)

    @task
    def scan(self) -> None:
        self.door("checkin (scan)", {"badge_id": badge(Shared.take()), "source": "scan"},
                  {"API-Key": Shared.api_key, "Content-Type": "application/json"})


class Kiosk(DoorMixin, HttpUser):
    """A tablet at the entrance, signed in by staff and locked to the keynote."""

    weight = 2
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.get("/auth/me", name="kiosk /auth/me")
        r = self.client.post("/auth/kiosk", json={
            "email": Shared.kiosk_email, "session_id": Shared.session,
            "password": os.environ.get("ROLLCALL_KIOSK_PASSWORD", KIOSK_PASSWORD)},
            headers=self.csrf(), name="kiosk sign-in")
        r.raise_for_status()

    def csrf(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.client.cookies.get("rollcall_csrf", "")}

    @task
    def scan(self) -> None:
        self.door("checkin (kiosk)", {"badge_id": badge(Shared.take())},
                  {**self.csrf(), "Content-Type": "application/json"})


class AttendeeWithCode(DoorMixin, HttpUser):
    """An attendee's phone: say who you are, type the code on the screen, check in."""

    weight = 3
    wait_time = between(1, 4)

    @task
    def self_checkin(self) -> None:
        self.client.cookies.clear()
        self.client.get("/auth/me", name="attendee /auth/me")
        csrf = {"X-CSRF-Token": self.client.cookies.get("rollcall_csrf", "")}
        r = self.client.post("/auth/attendee", json={"identifier": email(Shared.take())},
                             headers=csrf, name="attendee sign-in")
        if r.status_code != 200:
            return
        self.door("checkin (attendee, code)", {"code": KEYNOTE_CODE.lower()},
                  {**csrf, "Content-Type": "application/json"})


class Integrator(FastHttpUser):
    """A partner system polling the attendance and the counts."""

    weight = 1
    wait_time = between(5, 10)

    @task(3)
    def counts(self) -> None:
        self.client.get(f"/api/v2/sessions/{Shared.session}/counts",
                        headers={"API-Key": Shared.api_key}, name="GET /counts")

    @task(1)
    def attendance(self) -> None:
        self.client.get(f"/api/v2/sessions/{Shared.session}/attendance",
                        headers={"API-Key": Shared.api_key}, name="GET /attendance")


class Dashboard(HttpUser):
    """A moderator screen on the WebSocket; reports push lag and seq gaps as Locust metrics."""

    weight = 2
    wait_time = constant(0)

    def on_start(self) -> None:
        self.ws: Any = None
        self.last: int | None = None
        self.stack = contextlib.ExitStack()

    def on_stop(self) -> None:
        self.stack.close()

    def connect(self) -> None:
        from websockets.sync.client import connect

        assert self.host
        base = self.host.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
        url = f"{base}/ws/sessions/{Shared.session}"
        if self.last is not None:
            url += f"?since={self.last}"
        t0 = time.monotonic()
        try:
            self.ws = self.stack.enter_context(connect(
                url, additional_headers={"API-Key": Shared.api_key}, open_timeout=15,
                max_size=None, compression=None))
        except Exception as exc:  # noqa: BLE001 - reported to Locust, then retried
            _ws_event(self.environment, "WS connect", (time.monotonic() - t0) * 1000, exc)
            time.sleep(1)
            return
        _ws_event(self.environment, "WS connect", (time.monotonic() - t0) * 1000, None)

    @task
    def watch(self) -> None:
        """Follow the channel for a few seconds (then Locust may stop or rebalance us)."""
        if self.ws is None:
            self.connect()
            if self.ws is None:
                return
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                raw = self.ws.recv(timeout=1)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the line dropped: resume with ?since
                self.ws = None
                _ws_event(self.environment, "WS reconnect", 0, None)
                return
            now = time.monotonic()
            frame = json.loads(raw)
            # Several deltas may share one frame: {"type": "batch", "events": [...]}.
            for msg in frame["events"] if frame.get("type") == "batch" else [frame]:
                if not self.take(msg, now):
                    return

    def take(self, msg: dict[str, Any], now: float) -> bool:
        """Apply one message; False when a gap closed the connection (resume next time)."""
        assert self.ws is not None
        kind, seq = msg.get("type"), msg.get("seq")
        if kind == "ping":
            self.ws.send('{"type":"pong"}')
        elif kind == "snapshot":
            self.last = seq if self.last is None else max(self.last, seq)
        elif kind in ("checkin", "checkout", "removed", "cleared", "preload"):
            if self.last is not None and seq > self.last + 1:
                _ws_event(self.environment, "WS seq gap", 0,
                          RuntimeError(f"gap {self.last} -> {seq}"))
                self.ws.close()
                self.ws = None
                return False
            self.last = seq
            t_ack = Shared.acks.get(seq)
            if t_ack is not None:
                _ws_event(self.environment, "WS push lag (ack -> dashboard)",
                          max(0.0, now - t_ack) * 1000, None)
        return True
