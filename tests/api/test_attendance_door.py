"""The door over HTTP: check-in and check-out answers, counts, events, idempotency."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.events import decode_event
from storage.tables import T_EVENTS, T_HISTORY, T_RECORDS
from tests.door.kit import make_attendees, make_session, run, scalar


def door(api: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    return api.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)


def refused(r: Any, reason: str, status: int = 409) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "error" and body["reason"] == reason, body
    assert body["message"]


def test_checkin_answers_record_counts_and_seq(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, capacity=10,
                       fields=[("Accounting", "2", ["code1", "code2"])])
    make_attendees(settings.database, 1, register=[sid])
    r = door(api, sid, external_id="A0001")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    rec = data["record"]
    assert rec["user"]["external_id"] == "A0001"
    assert rec["checkin_source"] == "api"
    assert rec["checkin_time"] and rec["checkin_time_actual"] and rec["checkout_time"] is None
    assert [h["action"] for h in rec["history"]] == ["checkin"]
    assert rec["fields_of_study"][0]["codewords"] == {
        "possible": 2, "valid": 0, "missed": 2, "valid_list": [],
        "missed_list": ["code1", "code2"]}
    assert data["counts"] == {"registered": 1, "checked_in": 1, "in_room": 1, "checked_out": 0,
                              "capacity": 10, "remaining": 9}
    assert data["seq"] == 1
    assert api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["in_room"] == 1

    r = door(api, sid, "checkout", email="A0001@EXAMPLE.com")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["seq"] == 2 and data["counts"]["in_room"] == 0
    assert data["counts"]["checked_out"] == 1
    assert [h["action"] for h in data["record"]["history"]] == ["checkin", "checkout"]
    assert data["record"]["checkout_source"] == "api"

    events = run(settings.database, lambda c: _events(c, sid))
    assert [(e.seq, e.kind) for e in events] == [(1, "checkin"), (2, "checkout")]
    assert events[1].record is not None and events[1].record["user"]["external_id"] == "A0001"
    assert events[1].counts.in_room == 0


async def _events(conn: Any, sid: str) -> list[Any]:
    rows = await conn.execute(sa.select(T_EVENTS.c.payload).where(T_EVENTS.c.session_id == sid)
                              .order_by(T_EVENTS.c.seq))
    return [decode_event(bytes(r.payload)) for r in rows]


def test_retry_with_idempotency_key_returns_first_answer(api: TestClient,
                                                         settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    first = door(api, sid, external_id="A0001", idempotency_key="k-1")
    again = door(api, sid, external_id="A0001", idempotency_key="k-1")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    refused(door(api, sid, external_id="A0001", idempotency_key="k-2"), "already_checked_in")
    db = settings.database
    assert scalar(db, sa.select(sa.func.count()).select_from(T_HISTORY)) == 1
    assert scalar(db, sa.select(sa.func.count()).select_from(T_EVENTS)) == 1


def test_capacity_counts_people_in_the_room(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, capacity=1)
    make_attendees(settings.database, 2)
    assert door(api, sid, external_id="A0001").status_code == 200
    refused(door(api, sid, external_id="A0002"), "capacity_full")
    assert door(api, sid, "checkout", external_id="A0001").status_code == 200
    assert door(api, sid, external_id="A0002").status_code == 200
    # the refused attempt left no record behind
    db = settings.database
    assert scalar(db, sa.select(sa.func.count()).select_from(T_RECORDS)) == 2
    assert scalar(db, sa.select(sa.func.count()).select_from(T_HISTORY)) == 3


def test_unknown_attendee_and_session_are_404(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    refused(door(api, sid, external_id="nobody"), "unknown_attendee", 404)
    r = door(api, "nosuch", external_id="A0001")
    assert r.status_code == 404 and r.json()["status"] == "error"


class Recorder:
    """An event sink that keeps what it is handed (in place of the real-time node)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    async def publish_events(self, events: Any) -> None:
        self.events.extend(events)


class Broken:
    async def publish_events(self, events: Any) -> None:
        raise ConnectionError("broker down")


def use_sink(api: TestClient, sink: Any) -> None:
    """Hand the hub's committed events (door and housekeeping alike) to ``sink``."""
    hub = api.app.state.hub  # type: ignore[attr-defined]
    hub.sink = hub.door.sink = sink


def test_events_are_published_after_commit_and_refusals_publish_nothing(
    api: TestClient, settings: Settings
) -> None:
    sid = make_session(settings.database, capacity=1)
    make_attendees(settings.database, 2)
    sink = Recorder()
    use_sink(api, sink)
    assert door(api, sid, external_id="A0001").status_code == 200
    refused(door(api, sid, external_id="A0002"), "capacity_full")
    events = [e.event for e in sink.events]
    assert [(e.seq, e.kind, e.counts.in_room) for e in events] == [(1, "checkin", 1)]
    assert events[0].record is not None and events[0].record["user"]["external_id"] == "A0001"
    api.delete(f"/api/v2/sessions/{sid}/attendance")
    events = [e.event for e in sink.events]
    assert [(e.kind, e.count, e.counts.in_room) for e in events[1:]] == [("cleared", 1, 0)]


def test_a_broken_sink_never_fails_an_acknowledged_checkin(api: TestClient,
                                                           settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    use_sink(api, Broken())
    assert door(api, sid, external_id="A0001").status_code == 200
    assert api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["in_room"] == 1


def test_old_idempotency_answers_are_forgotten_and_a_late_retry_is_judged_afresh(
    api: TestClient, settings: Settings
) -> None:
    import datetime as dt

    from hub.services.housekeeping import forget_old_answers
    from hub.state import Hub
    from storage.tables import T_IDEMPOTENCY

    sid = make_session(settings.database, capacity=10)
    make_attendees(settings.database, 2, register=[sid])
    old = door(api, sid, external_id="A0001", idempotency_key="old-scan")
    recent = door(api, sid, external_id="A0002", idempotency_key="recent-scan")
    assert old.status_code == recent.status_code == 200
    eight_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    run(settings.database, lambda c: c.execute(
        sa.update(T_IDEMPOTENCY).where(T_IDEMPOTENCY.c.key.like("%old-scan"))
        .values(created_at=eight_days_ago)))

    hub: Hub = api.app.state.hub  # type: ignore[attr-defined]
    assert api.portal.call(forget_old_answers, hub) == 1  # type: ignore[union-attr]

    # The recent answer is still replayed byte for byte; the week-old retry is judged again
    # and, the attendee being in the room, refused: still no second check-in.
    assert door(api, sid, external_id="A0002", idempotency_key="recent-scan").content \
        == recent.content
    refused(door(api, sid, external_id="A0001", idempotency_key="old-scan"),
            "already_checked_in")
    assert api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["in_room"] == 2
