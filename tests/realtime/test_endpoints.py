"""The WebSocket endpoints in one process (in-process broker), on SQLite and PostgreSQL:
the handshake, the protocol, the attendee and event-wide views."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hub.app import create_app
from hub.auth.accounts import create_staff
from hub.auth.cookies import ATTENDEE_COOKIE, STAFF_COOKIE, Signer
from hub.config import Settings
from storage.app import ensure_app_row
from storage.engine import make_engine
from storage.tables import T_APP
from tests.conftest import SECRET
from tests.realtime.helpers import Event, attendee_id, make_event
from tests.signins import signed_in

Session = Any  # starlette's WebSocketTestSession

FAST = {"ROLLCALL_WS_AUTH_TIMEOUT_S": "0.5", "ROLLCALL_WS_HISTORY_LIMIT": "5",
        "ROLLCALL_WS_COUNTS_HZ": "50"}


@pytest.fixture
def event(settings: Settings) -> Event:
    (ev,) = asyncio.run(make_event(settings.database, attendees=12, capacity=10,
                                   moderator_password="modpass"))

    async def app_password() -> None:
        import sqlalchemy as sa

        engine = make_engine(settings.database)
        async with engine.begin() as conn:
            await ensure_app_row(conn)
            await conn.execute(sa.update(T_APP).values(moderator_password="apppass"))
        await engine.dispose()

    asyncio.run(app_password())
    return ev


@pytest.fixture
def rt(settings: Settings) -> Iterator[TestClient]:
    fast = dataclasses.replace(settings, extra=FAST)
    with TestClient(create_app(fast), raise_server_exceptions=False) as c:
        yield c


def staff_cookie(settings: Settings, permissions: list[str]) -> str:
    async def go() -> int:
        engine = make_engine(settings.database)
        async with engine.begin() as conn:
            sid = await create_staff(conn, email=f"{'-'.join(permissions) or 'none'}@ex.org",
                                     password="password1", permissions=permissions)
        await engine.dispose()
        return sid

    payload = signed_in(settings.database, asyncio.run(go()))
    return f"{STAFF_COOKIE}={Signer(SECRET).dumps(payload)}"


def attendee_cookie(settings: Settings, external_id: str) -> str:
    aid = asyncio.run(attendee_id(settings.database, external_id))
    return f"{ATTENDEE_COOKIE}={Signer(SECRET).dumps({'aid': aid})}"


def checkin(rt: TestClient, ev: Event, i: int, action: str = "checkin") -> dict[str, Any]:
    r = rt.post(f"/api/v2/sessions/{ev.session_id}/attendance/{action}",
                json={"external_id": f"A{i}"}, headers={"API-Key": ev.api_key})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def receive_until(ws: Session, kind: str, limit: int = 50) -> list[dict[str, Any]]:
    """Frames up to and including the first of type ``kind``."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        m = ws.receive_json()
        # A batch frame carries several deltas: the client applies them one by one.
        seen.extend(m["events"] if m["type"] == "batch" else [m])
        if m["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} frame in {seen}")


def refused(rt: TestClient, path: str, code: int, *, first: str | None = None,
            **kw: Any) -> None:
    """The handshake is refused with ``code`` and nothing else arrives before the close."""
    with rt.websocket_connect(path, **kw) as ws:
        if first is not None:
            ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            m = ws.receive_json()
            raise AssertionError(f"data before the refusal: {m}")
        assert closed.value.code == code


# --- the handshake --------------------------------------------------------------------------


def test_wrong_or_missing_credentials_are_refused_before_any_data(
        rt: TestClient, event: Event, settings: Settings) -> None:
    path = f"/ws/sessions/{event.session_id}"
    refused(rt, path, 4401)  # nothing at all: no auth frame within the time allowed
    refused(rt, path, 4401, headers={"API-Key": "rc_not-a-key"})
    refused(rt, path, 4401, first='{"type": "auth", "password": "wrong"}')
    refused(rt, path, 4401, first="not even json")
    refused(rt, path, 4401, headers={"cookie": f"{STAFF_COOKIE}=forged.cookie"})
    refused(rt, "/ws/event", 4401, headers={"API-Key": "rc_not-a-key"})
    refused(rt, f"/ws/attendee/{event.session_id}", 4401)


def test_the_right_credentials_but_not_allowed_are_forbidden(
        rt: TestClient, event: Event, settings: Settings) -> None:
    path = f"/ws/sessions/{event.session_id}"
    refused(rt, path, 4403, headers={"cookie": staff_cookie(settings, ["override"])})
    refused(rt, path, 4403, headers={"cookie": attendee_cookie(settings, "A1")})
    refused(rt, path, 4401, headers={"cookie": attendee_cookie(settings, "A1")},
            first='{"type": "auth", "password": "wrong"}')
    # A page of another site cannot ride on the staff's cookie.
    refused(rt, path, 4403, headers={"cookie": staff_cookie(settings, ["moderate"]),
                                     "origin": "https://evil.example"})
    refused(rt, "/ws/event", 4403, headers={"cookie": attendee_cookie(settings, "A1")})
    refused(rt, "/ws/event", 4401, first='{"type": "auth", "password": "modpass"}')
    refused(rt, f"/ws/attendee/{event.session_id}", 4403,
            headers={"API-Key": event.api_key})


def test_guessing_a_moderator_password_is_stopped(rt: TestClient, event: Event) -> None:
    """Ten wrong passwords for one session from one address: the next try, even with the right
    password, is closed with 4429 (do not reconnect) and says when to try again. The event
    dashboard's password is counted apart and still opens."""
    path = f"/ws/sessions/{event.session_id}"
    for _ in range(10):
        refused(rt, path, 4401, first='{"type": "auth", "password": "guess"}')
    with rt.websocket_connect(path) as ws:
        ws.send_text('{"type": "auth", "password": "modpass"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4429
    assert "Try again in 15 minutes" in closed.value.reason
    with rt.websocket_connect("/ws/event") as ws:
        ws.send_text('{"type": "auth", "password": "apppass"}')
        assert ws.receive_json()["type"] == "event_snapshot"


def test_unknown_sessions_and_bad_parameters(rt: TestClient, event: Event) -> None:
    key = {"API-Key": event.api_key}
    refused(rt, "/ws/sessions/nosuch", 4404, headers=key)
    refused(rt, "/ws/sessions/nosuch", 4404, first='{"type": "auth", "password": "apppass"}')
    refused(rt, f"/ws/sessions/{event.session_id}?since=-1", 4400, headers=key)
    refused(rt, f"/ws/sessions/{event.session_id}?since=abc", 4400, headers=key)
    # Only ASCII digits: "²" is a digit to str.isdigit() and not to int(); "٣" reads as 3.
    for since in ("²", "٣", "１", "1_0", "+1", " 1", "9" * 19):
        refused(rt, f"/ws/sessions/{event.session_id}?since={since}", 4400, headers=key)
        refused(rt, f"/ws/sessions/{event.session_id}?since={since}", 4400)  # before auth
    # A NUL anywhere in the URL: accepted, then closed 4400 (a browser does not retry that).
    refused(rt, f"/ws/sessions/{event.session_id}?since=%00", 4400, headers=key)
    refused(rt, "/ws/sessions/a%00b", 4400, headers=key)


@pytest.mark.parametrize("how", ["api_key", "scan", "moderate", "admin", "session_password",
                                 "app_password", "attendee_and_password",
                                 "override_and_password"])
def test_who_may_watch_a_session(rt: TestClient, event: Event, settings: Settings,
                                 how: str) -> None:
    kw: dict[str, Any] = {}
    first = None
    if how == "api_key":
        kw["headers"] = {"API-Key": event.api_key}
    elif how in ("scan", "moderate", "admin"):
        kw["headers"] = {"cookie": staff_cookie(settings, [how])}
    elif how == "attendee_and_password":  # a moderator's browser that also holds an attendee
        kw["headers"] = {"cookie": attendee_cookie(settings, "A1")}
        first = "modpass"
    elif how == "override_and_password":  # staff who may not watch, with the password
        kw["headers"] = {"cookie": staff_cookie(settings, ["override"])}
        first = "apppass"
    else:
        first = {"session_password": "modpass", "app_password": "apppass"}[how]
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}", **kw) as ws:
        if first:
            ws.send_json({"type": "auth", "password": first})
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and snap["session_id"] == event.session_id


# --- the session protocol -------------------------------------------------------------------


def test_snapshot_then_ordered_deltas_and_absolute_counts(rt: TestClient, event: Event) -> None:
    for i in range(3):
        checkin(rt, event, i)
    checkin(rt, event, 0, "checkout")
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}",
                              headers={"API-Key": event.api_key}) as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot"
        assert snap["seq"] == 4 and len(snap["epoch"]) > 0
        assert snap["counts"] == {"registered": 0, "checked_in": 3, "in_room": 2,
                                  "checked_out": 1, "capacity": 10, "remaining": 8}
        # Newest first, one entry per attendee, as its latest action left it.
        assert [r["user"]["external_id"] for r in snap["records"]] == ["A0", "A2", "A1"]
        assert snap["records"][0]["checkout_time"] is not None

        answer = checkin(rt, event, 5)
        frames = receive_until(ws, "counts")
        delta = frames[0]
        assert delta["type"] == "checkin" and delta["seq"] == 5 == answer["seq"]
        assert delta["epoch"] == snap["epoch"]
        assert delta["record"]["user"]["external_id"] == "A5"
        assert frames[-1]["counts"] == answer["counts"]
        assert frames[-1]["seq"] == 5

        checkin(rt, event, 5, "checkout")
        frames = receive_until(ws, "counts")
        assert [f["type"] for f in frames] == ["checkout", "counts"]
        assert frames[-1]["counts"]["in_room"] == 2

        r = rt.delete(f"/api/v2/sessions/{event.session_id}/attendance",
                      headers={"API-Key": event.api_key})
        assert r.status_code == 200
        frames = receive_until(ws, "counts")
        assert frames[0]["type"] == "cleared" and frames[0]["seq"] == 7
        assert frames[-1]["counts"]["checked_in"] == 0
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}",
                              headers={"API-Key": event.api_key}) as ws:
        snap = ws.receive_json()
        assert snap["records"] == [] and snap["seq"] == 7


def test_resume_with_since_gets_exactly_the_missed_deltas(rt: TestClient, event: Event) -> None:
    for i in range(4):
        checkin(rt, event, i)
    key = {"API-Key": event.api_key}
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}?since=1", headers=key) as ws:
        frames = receive_until(ws, "counts")
        assert [(f["type"], f["seq"]) for f in frames] == [
            ("checkin", 2), ("checkin", 3), ("checkin", 4), ("counts", 4)]
        # A client that saw a gap asks for the range on the open connection.
        ws.send_json({"type": "resume", "since": 2})
        frames = receive_until(ws, "counts")
        assert [f["seq"] for f in frames] == [3, 4, 4]
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}?since=4", headers=key) as ws:
        assert ws.receive_json()["type"] == "counts"  # nothing missed


def test_resume_past_the_history_limit_or_from_another_epoch_gets_a_snapshot(
        rt: TestClient, event: Event) -> None:
    for i in range(8):  # the limit is 5 here
        checkin(rt, event, i)
    key = {"API-Key": event.api_key}
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}?since=1", headers=key) as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and snap["seq"] == 8
        assert snap["counts"]["in_room"] == 8
    for since in ("4&epoch=other", "99"):
        with rt.websocket_connect(f"/ws/sessions/{event.session_id}?since={since}",
                                  headers=key) as ws:
            assert ws.receive_json()["type"] == "snapshot"


def test_a_malformed_frame_gets_an_error_and_the_connection_stays(
        rt: TestClient, event: Event) -> None:
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}",
                              headers={"API-Key": event.api_key}) as ws:
        ws.receive_json()
        ws.send_text("{not json")
        err = ws.receive_json()
        assert err["type"] == "error" and err["reason"] == "malformed_json"
        ws.send_json({"type": "resume", "since": "yesterday"})
        err = ws.receive_json()
        assert err["reason"] == "invalid" and "$.since" in err["message"]
        ws.send_json({"type": "dance"})
        assert ws.receive_json()["reason"] == "invalid"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["reason"] == "bad_request"
        ws.send_text('{"type": "ping", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
        assert ws.receive_json()["reason"] == "malformed_json"
        ws.send_json({"type": "ping"})
        pong = ws.receive_json()
        assert pong["type"] == "pong" and pong["seq"] == 0
        checkin(rt, event, 1)
        assert ws.receive_json()["type"] == "checkin"


def test_heartbeat_visible_to_the_client_and_a_silent_peer_is_closed(
        settings: Settings, event: Event) -> None:
    quick = dataclasses.replace(settings, extra={"ROLLCALL_WS_PING_S": "0.2",
                                                 "ROLLCALL_WS_DEAD_S": "1.0"})
    with TestClient(create_app(quick)) as c:
        with c.websocket_connect(f"/ws/sessions/{event.session_id}",
                                 headers={"API-Key": event.api_key}) as ws:
            assert ws.receive_json()["type"] == "snapshot"
            for _ in range(8):  # answering keeps it open past the dead-peer limit
                ping = ws.receive_json()
                assert ping["type"] == "ping" and ping["seq"] == 0
                ws.send_json({"type": "pong"})
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    assert ws.receive_json()["type"] == "ping"
            assert closed.value.code == 4000


# --- the attendee's own view ----------------------------------------------------------------


def test_the_attendee_sees_their_status_seats_and_the_moderators_prompt(
        rt: TestClient, event: Event, settings: Settings) -> None:
    with rt.websocket_connect(f"/ws/attendee/{event.session_id}",
                              headers={"cookie": attendee_cookie(settings, "A3")}) as me:
        first = me.receive_json()
        assert first["type"] == "me" and first["status"] == "not_checked_in"
        seats = me.receive_json()
        assert seats["type"] == "seats" and seats["capacity"] == 10 and seats["remaining"] == 10

        checkin(rt, event, 1)  # someone else: only the seats change
        assert me.receive_json() == {**seats, "seq": 1, "remaining": 9}
        checkin(rt, event, 3)
        mine = receive_until(me, "me")[-1]
        assert mine["status"] == "in_room" and mine["checkin_time"] is not None
        seats = receive_until(me, "seats")[-1]
        assert seats["remaining"] == 8

        with rt.websocket_connect(f"/ws/sessions/{event.session_id}",
                                  headers={"cookie": staff_cookie(settings, ["scan"])}) as scan:
            scan.receive_json()
            scan.send_json({"type": "prompt", "message": "Codeword?"})
            assert scan.receive_json()["reason"] == "forbidden"
        with rt.websocket_connect(f"/ws/sessions/{event.session_id}") as mod:
            mod.send_json({"type": "auth", "password": "modpass"})
            mod.receive_json()
            mod.send_json({"type": "prompt", "message": "Enter today's codeword",
                           "field": "Accounting"})
            prompt = receive_until(me, "prompt")[-1]
            assert prompt["message"] == "Enter today's codeword"
            assert prompt["field"] == "Accounting"

        checkin(rt, event, 3, "checkout")
        assert receive_until(me, "me")[-1]["status"] == "checked_out"
        rt.delete(f"/api/v2/sessions/{event.session_id}/attendance",
                  headers={"API-Key": event.api_key})
        assert receive_until(me, "me")[-1]["status"] == "not_checked_in"


# --- the event-wide view --------------------------------------------------------------------


def test_the_event_dashboard_shows_every_sessions_counts(
        rt: TestClient, event: Event, settings: Settings) -> None:
    (other,) = asyncio.run(make_event(settings.database, attendees=0))
    with rt.websocket_connect("/ws/event",
                              headers={"cookie": staff_cookie(settings, ["scan"])}) as ws:
        snap = ws.receive_json()
        assert snap["type"] == "event_snapshot"
        ids = {s["session_id"]: s for s in snap["sessions"]}
        assert set(ids) == {event.session_id, other.session_id}
        assert ids[event.session_id]["name"] == "Session 0"
        answer = checkin(rt, event, 2)
        counts = ws.receive_json()
        assert counts["type"] == "counts" and counts["session_id"] == event.session_id
        assert counts["counts"] == answer["counts"] and counts["seq"] == answer["seq"]
    with rt.websocket_connect("/ws/event") as ws:
        ws.send_json({"type": "auth", "password": "apppass"})
        assert ws.receive_json()["type"] == "event_snapshot"


def test_editing_or_deleting_a_session_reaches_its_dashboards_at_once(
        rt: TestClient, event: Event, settings: Settings) -> None:
    """A new capacity shows on the session's dashboard (counts) and the attendee's view
    (seats) without any check-in; the event dashboard gets the new list when a session is
    created, renamed or deleted; a deleted session's dashboard is closed with 4404."""
    key = {"API-Key": event.api_key}
    path = f"/api/v2/sessions/{event.session_id}"
    checkin(rt, event, 1)
    with rt.websocket_connect(f"/ws/sessions/{event.session_id}", headers=key) as board, \
            rt.websocket_connect(f"/ws/attendee/{event.session_id}",
                                 headers={"cookie": attendee_cookie(settings, "A3")}) as me, \
            rt.websocket_connect("/ws/event", headers=key) as wide:
        assert board.receive_json()["counts"]["capacity"] == 10
        assert receive_until(me, "seats")[-1]["remaining"] == 9
        assert wide.receive_json()["type"] == "event_snapshot"

        assert rt.put(path, json={"capacity": 4}, headers=key).status_code == 200
        counts = receive_until(board, "counts")[-1]
        assert counts["seq"] == 1
        assert counts["counts"] == {"registered": 0, "checked_in": 1, "in_room": 1,
                                    "checked_out": 0, "capacity": 4, "remaining": 3}
        seats = receive_until(me, "seats")[-1]
        assert (seats["capacity"], seats["remaining"]) == (4, 3)
        wide_counts = receive_until(wide, "counts")[-1]
        assert wide_counts["session_id"] == event.session_id
        assert wide_counts["counts"]["capacity"] == 4

        made = rt.post("/api/v2/sessions", json={"name": "Late addition"}, headers=key)
        assert made.status_code == 201
        new_id = made.json()["data"]["id"]
        listed = receive_until(wide, "event_snapshot")[-1]
        assert {s["session_id"]: s["name"] for s in listed["sessions"]} == {
            event.session_id: "Session 0", new_id: "Late addition"}

        assert rt.delete(path, headers=key).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_until(board, "never")
        assert closed.value.code == 4404
        listed = receive_until(wide, "event_snapshot")[-1]
        assert [s["session_id"] for s in listed["sessions"]] == [new_id]


def test_healthz_reports_the_in_process_broker(rt: TestClient) -> None:
    body = rt.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["broker"]["kind"] == "memory" and body["broker"]["state"] == "ok"
    local = body["broker"]["local"]
    assert {"connections", "channels", "queued_bytes", "closed_too_slow", "closed_no_heartbeat",
            "holes", "frames_sent", "batches"} <= set(local)
    assert (local["holes"], local["frames_sent"], local["batches"]) == (0, 0, 0)
