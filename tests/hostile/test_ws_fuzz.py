"""A hostile client at the WebSocket endpoints: bad handshakes (origins, paths, ids out of
range, ``since`` and ``epoch`` values no client should send) and bad frames (not JSON, NUL,
deep nesting, huge, binary, unknown types, values out of range).

Every case ends in something documented: a close code that hub/errors.py's REASONS lists, an
``error`` frame with a listed reason on a socket that still answers ``ping``, or (for a path
that is no endpoint) a refused handshake. And the hub logs no traceback and no error for any
of them. One real hub process on PostgreSQL serves every case, one connection per case.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from hub.auth.accounts import add_staff, create_api_key
from hub.auth.cookies import ATTENDEE_COOKIE, STAFF_COOKIE, Signer
from hub.config import DatabaseURL
from hub.errors import REASONS
from storage.engine import run_in_tx
from tests.conftest import SECRET
from tests.livehub import LiveHub, start_hub
from tests.signins import signed_in

CLOSES = {r.close for r in REASONS.values() if r.close is not None}
WAIT_S = 8.0


@dataclass
class Hostile:
    hub: LiveHub
    key: str
    session_id: str
    staff_cookie: str
    attendee_cookie: str


@pytest.fixture(scope="module")
def hostile(pg_database: DatabaseURL, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[Hostile]:
    db = pg_database
    _, key = run_in_tx(db, lambda conn: create_api_key(conn, description="ws fuzz"))
    staff_id = run_in_tx(db, lambda conn: add_staff(
        conn, email="fuzz-watcher@example.com", password_hash="x", permissions=["scan"]))
    env = {
        "ROLLCALL_DATABASE_URL": db.sync_url.replace("postgresql+psycopg", "postgresql"),
        "ROLLCALL_SECRET_KEY": SECRET,
        "ROLLCALL_PUBLIC_URL": "http://testserver",
        "ROLLCALL_REDIS_URL": "",
        "ROLLCALL_WS_AUTH_TIMEOUT_S": "2",
    }
    hub = start_hub(env, tmp_path_factory.mktemp("wsfuzz"))
    try:
        r = httpx.post(f"{hub.url}/api/v2/sessions", headers={"API-Key": key}, timeout=30,
                       json={"name": "Fuzzed", "date": "2026-01-12", "start_time": "9am",
                             "capacity": 10})
        assert r.status_code == 201, r.text
        signer = Signer(SECRET)
        yield Hostile(hub=hub, key=key, session_id=r.json()["data"]["id"],
                      staff_cookie=signer.dumps(signed_in(db, staff_id)),
                      attendee_cookie=signer.dumps({"aid": 999_999_999}))
    finally:
        hub.stop()


def _new_log(path: Path, start: int) -> str:
    with path.open("rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace")


def assert_logged_nothing_bad(hub: LiveHub, start: int) -> None:
    text = _new_log(hub.log_path, start)
    bad = [line for line in text.splitlines()
           if "Traceback" in line or re.search(r"\b(ERROR|CRITICAL)\b", line)]
    assert not bad, "the hub logged:\n" + text[-4000:]


def _outcome(ws: ClientConnection) -> tuple[str, Any]:
    """("close", code) when the hub closes; ("frame", its type) for the first frame."""
    try:
        text = ws.recv(timeout=WAIT_S)
    except ConnectionClosed as closed:
        return "close", closed.rcvd.code if closed.rcvd else None
    return "frame", json.loads(text)["type"]


def _answers_ping(ws: ClientConnection) -> tuple[str, Any]:
    """After a bad frame: the error frame's reason, then whether a ping is still answered."""
    reasons: list[str] = []
    ws.send('{"type": "ping"}')
    while True:
        try:
            frame = json.loads(ws.recv(timeout=WAIT_S))
        except ConnectionClosed as closed:
            return "close", closed.rcvd.code if closed.rcvd else None
        if frame["type"] == "error":
            reasons.append(frame["reason"])
        if frame["type"] == "pong":
            return "error", tuple(reasons)


def _next_change(ws: ClientConnection) -> str:
    """The type of the next frame that tells of a change (pings and counts skipped)."""
    while True:
        kind = json.loads(ws.recv(timeout=WAIT_S))["type"]
        if kind not in ("ping", "pong", "counts"):
            return str(kind)


def _open(h: Hostile, path: str, *, key: bool = True, origin: str | None = None,
          cookies: dict[str, str] | None = None) -> ClientConnection:
    headers: dict[str, str] = {"API-Key": h.key} if key else {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return connect(h.hub.ws_url + path.replace("{sid}", h.session_id), additional_headers=headers,
                   origin=origin, open_timeout=WAIT_S, compression=None, ping_interval=None,
                   close_timeout=2, proxy=None)  # type: ignore[arg-type]


GUARD = pytest.mark.xfail(strict=True, reason="?since= with non-ASCII digits: branch guard")

# (path, what to send first or None, expected): expected is a close code, the type of the first
# frame ("view": a session's snapshot, or counts when already current) or "refused" (no such
# endpoint: the handshake is refused over HTTP).
HANDSHAKES = [
    pytest.param("/ws/sessions/{sid}?since=-1", None, 4400, id="since-negative"),
    pytest.param("/ws/sessions/{sid}?since=%C2%B2", None, 4400, id="since-superscript-two",
                 marks=GUARD),
    pytest.param("/ws/sessions/{sid}?since=%D9%A3", None, 4400, id="since-arabic-three",
                 marks=GUARD),
    pytest.param("/ws/sessions/{sid}?since=%EF%BC%91", None, 4400, id="since-fullwidth-one",
                 marks=GUARD),
    pytest.param("/ws/sessions/{sid}?since=" + "9" * 40, None, 4400, id="since-huge"),
    pytest.param("/ws/sessions/{sid}?since=1e3", None, 4400, id="since-float"),
    pytest.param("/ws/sessions/{sid}?since=", None, 4400, id="since-empty"),
    pytest.param("/ws/sessions/{sid}?since=%201", None, 4400, id="since-space"),
    pytest.param("/ws/sessions/{sid}?since=%00", None, 4400, id="since-nul"),
    pytest.param("/ws/sessions/{sid}?since=" + "9" * 18, None, "view", id="since-ahead"),
    pytest.param("/ws/sessions/{sid}?since=0&epoch=" + "x" * 33, None, 4400,
                 id="epoch-too-long"),
    pytest.param("/ws/sessions/{sid}?since=0&epoch=%FF%27;--", None, "view", id="epoch-garbage"),
    pytest.param("/ws/sessions/{sid}?since=0&epoch=%00", None, 4400, id="epoch-nul"),
    pytest.param("/ws/sessions/{sid}?since=3&epoch=%D9%A3", None, "view", id="epoch-unicode"),
    pytest.param("/ws/sessions/{sid}?since=0&since=-1&epoch=a&epoch=b", None, 4400,
                 id="repeated-parameters"),
    pytest.param("/ws/sessions/" + "9" * 40, None, 4404, id="session-id-huge"),
    pytest.param("/ws/sessions/-1", None, 4404, id="session-id-negative"),
    pytest.param("/ws/sessions/%00", None, 4400, id="session-id-nul"),
    pytest.param("/ws/sessions/%D9%A3", None, 4404, id="session-id-unicode"),
    pytest.param("/ws/sessions/" + "a" * 4000, None, 4404, id="session-id-long"),
    pytest.param("/ws/sessions/%27%20OR%201=1--", None, 4404, id="session-id-sql"),
    pytest.param("/ws/event?since=%C2%B2", None, 4400, id="event-since-superscript",
                 marks=GUARD),
    pytest.param("/ws/event?since=-5", None, 4400, id="event-since-negative"),
    pytest.param("/ws/event?epoch=%00", None, 4400, id="event-epoch-nul"),
    pytest.param("/ws/event?epoch=%D9%A3&since=1", None, "event_snapshot", id="event-epoch"),
    pytest.param("/ws/attendee/{sid}", None, 4403, id="attendee-view-with-api-key"),
    pytest.param("/ws/attendee/" + "9" * 40, None, 4404, id="attendee-view-huge-id"),
    pytest.param("/ws/", None, "refused", id="path-root"),
    pytest.param("/ws/sessions", None, "refused", id="path-no-id"),
    pytest.param("/ws/sessions/{sid}/more", None, "refused", id="path-extra"),
    pytest.param("/ws/../api/v2/sessions", None, "refused", id="path-dots"),
    pytest.param("/api/v2/sessions", None, "refused", id="path-http-endpoint"),
]


def _connect_outcome(h: Hostile, path: str, first: str | bytes | None,
                     **kw: Any) -> tuple[str, Any]:
    try:
        ws = _open(h, path, **kw)
    except InvalidStatus as exc:
        return "refused", exc.response.status_code
    with ws:
        if first is not None:
            try:
                ws.send(first)
            except ConnectionClosed:
                pass
        return _outcome(ws)


def _check(outcome: tuple[str, Any], expected: int | str) -> None:
    kind, value = outcome
    if kind == "close":
        assert value in CLOSES, f"close code {value} is not one REASONS lists"
    if kind == "refused":
        assert 400 <= value < 500, outcome
    if isinstance(expected, int):
        assert outcome == ("close", expected)
    elif expected == "refused":
        assert kind == "refused", outcome
    elif expected == "view":  # a session view opens with its snapshot, or counts when current
        assert kind == "frame" and value in ("snapshot", "counts"), outcome
    else:
        assert outcome == ("frame", expected)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "first", "expected"), HANDSHAKES)
def test_handshake(hostile: Hostile, path: str, first: str | None, expected: int | str) -> None:
    start = hostile.hub.log_path.stat().st_size
    _check(_connect_outcome(hostile, path, first), expected)
    assert_logged_nothing_bad(hostile.hub, start)


# Callers other than an API key: cookies, origins, the moderator's first frame.
CALLERS: list[Any] = [
    pytest.param({"key": False, "origin": "https://evil.example", "cookies": {"staff": ""}},
                 None, 4403, id="staff-cookie-other-origin"),
    pytest.param({"key": False, "origin": "null", "cookies": {"staff": ""}}, None, 4403,
                 id="staff-cookie-null-origin"),
    pytest.param({"key": False, "origin": "http://127.0.0.1:1", "cookies": {"staff": ""}},
                 None, 4403, id="staff-cookie-other-port"),
    pytest.param({"key": False, "cookies": {"staff": ""}}, None, "view",
                 id="staff-cookie-no-origin"),
    pytest.param({"origin": "https://evil.example"}, None, "view", id="api-key-any-origin"),
    pytest.param({"key": False, "cookies": {"rollcall_staff": "forged.value.x"}},
                 '{"type": "ping"}', 4401, id="forged-staff-cookie"),
    pytest.param({"key": False, "cookies": {"attendee": ""}}, None, 4403,
                 id="attendee-cookie-on-dashboard"),
    pytest.param({"key": False, "cookies": {"attendee": ""}, "path": "/ws/attendee/{sid}"},
                 None, 4401, id="attendee-cookie-unknown-attendee"),
    pytest.param({"key": False}, '{"type": "auth", "password": "wrong"}', 4401,
                 id="moderator-wrong-password"),
    pytest.param({"key": False}, '{"type": "auth", "password": "' + "x" * 5000 + '"}', 4401,
                 id="moderator-password-huge"),
    pytest.param({"key": False}, b"\x00\xff binary", 4401, id="moderator-binary-first"),
    pytest.param({"key": False}, "\x00", 4401, id="moderator-nul-first"),
    pytest.param({"key": False}, "[" * 50000, 4401, id="moderator-deep-first"),
    pytest.param({"key": False}, None, 4401, id="moderator-silent"),
    pytest.param({"key": False, "path": "/ws/sessions/" + "9" * 40},
                 '{"type": "auth", "password": "x"}', 4404, id="moderator-huge-session-id"),
    pytest.param({"key": False, "path": "/ws/event"}, '{"type": "ping"}', 4401,
                 id="event-no-credentials"),
    pytest.param({"key": False, "path": "/ws/attendee/{sid}"}, None, 4401,
                 id="attendee-view-no-cookie"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("how", "first", "expected"), CALLERS)
def test_caller(hostile: Hostile, how: dict[str, Any], first: str | bytes | None,
                expected: int | str) -> None:
    kw = dict(how)
    path = kw.pop("path", "/ws/sessions/{sid}")
    names = {"staff": (STAFF_COOKIE, hostile.staff_cookie),
             "attendee": (ATTENDEE_COOKIE, hostile.attendee_cookie)}
    kw["cookies"] = dict(names.get(k, (k, v)) for k, v in kw.get("cookies", {}).items())
    start = hostile.hub.log_path.stat().st_size
    _check(_connect_outcome(hostile, path, first, **kw), expected)
    assert_logged_nothing_bad(hostile.hub, start)


# Frames on an open dashboard: each is refused with an error frame (the socket stays open and
# answers the next ping) or closes it with a listed code.
FRAMES: list[Any] = [
    pytest.param("not json", ("malformed_json",), id="not-json"),
    pytest.param("\x00", ("malformed_json",), id="nul"),
    pytest.param('{"type": "ping"\x00}', ("malformed_json",), id="nul-inside"),
    pytest.param("[" * 100000, ("invalid",), id="deep-array"),
    pytest.param('{"a":' * 20000 + "1" + "}" * 20000, ("malformed_json",), id="deep-object"),
    pytest.param("{}", ("invalid",), id="no-type"),
    pytest.param("[]", ("invalid",), id="array"),
    pytest.param('"ping"', ("invalid",), id="string"),
    pytest.param('{"type": "nope"}', ("invalid",), id="unknown-type"),
    pytest.param('{"type": null}', ("invalid",), id="null-type"),
    pytest.param('{"type": "resume", "since": -1}', ("invalid",), id="resume-negative"),
    pytest.param('{"type": "resume", "since": 1e999}', ("invalid",), id="resume-infinite"),
    pytest.param('{"type": "resume", "since": ' + "9" * 40 + "}", (), id="resume-huge"),
    pytest.param('{"type": "resume", "since": 0}', (), id="resume-zero"),
    pytest.param('{"type": "resume", "since": "3"}', ("invalid",), id="resume-string"),
    pytest.param('{"type": "prompt", "message": ""}', ("invalid",), id="prompt-empty"),
    pytest.param('{"type": "prompt", "message": "' + "x" * 5000 + '"}', ("invalid",),
                 id="prompt-huge"),
    pytest.param('{"type": "auth", "password": "x"}', ("invalid",), id="auth-again"),
    pytest.param(b"\x00\x01\x02", ("bad_request",), id="binary"),
    pytest.param(b"", ("bad_request",), id="binary-empty"),
    pytest.param(" " * 900_000, ("malformed_json",), id="huge-whitespace"),
    pytest.param('{"type": "ping", "pad": "' + "x" * 900_000 + '"}', (), id="huge-ping"),
    pytest.param("\ud800".encode("utf-8", "surrogatepass"), ("bad_request",),
                 id="binary-surrogate"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("frame", "reasons"), FRAMES)
def test_frame(hostile: Hostile, frame: str | bytes, reasons: tuple[str, ...]) -> None:
    start = hostile.hub.log_path.stat().st_size
    with _open(hostile, "/ws/sessions/{sid}") as ws:
        assert _outcome(ws) == ("frame", "snapshot")
        ws.send(frame)
        outcome = _answers_ping(ws)
        if outcome[0] == "close":
            assert outcome[1] in CLOSES, outcome
        assert all(r in REASONS for r in outcome[1] if isinstance(r, str)), outcome
        assert outcome == ("error", reasons)
        # And the view stays live: the next change reaches it.
        r = httpx.post(f"{hostile.hub.url}/api/v2/sessions/{hostile.session_id}/attendance/"
                       "preload", headers={"API-Key": hostile.key}, timeout=30,
                       json=[{"email": f"fuzz-{uuid.uuid4().hex[:8]}@example.com"}])
        assert r.status_code == 200, r.text
        assert _next_change(ws) in ("preload", "batch", "snapshot")
    assert_logged_nothing_bad(hostile.hub, start)


def test_every_expected_close_is_listed() -> None:
    for param in [*HANDSHAKES, *CALLERS]:
        expected = param.values[2]
        assert not isinstance(expected, int) or expected in CLOSES, param.id

