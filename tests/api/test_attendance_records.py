"""GET /attendance in the reference's shape; removal, clearing, preload; codewords; credit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.events import decode_event
from hub.realtime import store as live_store
from storage.tables import T_EVENTS, T_HISTORY, T_RECORDS, T_REGISTRATIONS
from tests.door.kit import make_attendees, make_session, run, scalar

REFERENCE_KEYS = {"user", "checkin_time", "checkout_time", "checkin_time_actual",
                  "checkout_time_actual", "delivery_format", "admin_note", "attendee_note",
                  "checkin_source", "checkout_source", "evaluation_complete",
                  "total_time_attended", "fields_of_study", "history"}
USER_KEYS = {"first_name", "last_name", "email", "external_id", "field_1", "field_2", "field_3",
             "field_4", "field_5"}


def door(c: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    r = c.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def attendance(c: TestClient, sid: str) -> list[dict[str, Any]]:
    r = c.get(f"/api/v2/sessions/{sid}/attendance")
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def kinds(settings: Settings, sid: str) -> list[tuple[int, str, int | None]]:
    async def go(conn: Any) -> list[tuple[int, str, int | None]]:
        rows = await conn.execute(sa.select(T_EVENTS.c.payload)
                                  .where(T_EVENTS.c.session_id == sid).order_by(T_EVENTS.c.seq))
        return [(e.seq, e.kind, e.count) for e in
                (decode_event(bytes(r.payload)) for r in rows)]
    return run(settings.database, go)


def test_records_in_the_reference_shape(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, date=dt.date(2026, 5, 1), start_time=dt.time(9),
                       end_time=dt.time(10),
                       fields=[("Accounting", "2", ["code1", "code2", "code3", "code4"]),
                               ("Taxes", "1", ["code5", "code6"])])
    make_attendees(settings.database, 2)
    door(api, sid, external_id="A0001", timestamp="2026-05-01T09:00:00Z")
    door(api, sid, "checkout", external_id="A0001", timestamp="2026-05-01T09:20:00Z")
    door(api, sid, external_id="A0001", timestamp="2026-05-01T09:30:00Z")
    door(api, sid, "checkout", external_id="A0001", timestamp="2026-05-01T09:40:00Z")
    door(api, sid, external_id="A0002")
    records = attendance(api, sid)
    assert len(records) == 2
    rec = records[0]
    assert REFERENCE_KEYS <= set(rec)
    assert USER_KEYS <= set(rec["user"])
    assert rec["checkin_time"] == "2026-05-01T09:00:00+00:00"
    assert rec["checkout_time"] == "2026-05-01T09:40:00+00:00"
    assert rec["total_time_attended"] == "00:30:00"
    assert rec["percent_attended"] == 50.0
    assert rec["evaluation_complete"] == "0"
    assert [(h["action"], h["timestamp"]) for h in rec["history"]] == [
        ("checkin", "2026-05-01T09:00:00+00:00"), ("checkout", "2026-05-01T09:20:00+00:00"),
        ("checkin", "2026-05-01T09:30:00+00:00"), ("checkout", "2026-05-01T09:40:00+00:00")]
    assert rec["fields_of_study"] == [
        {"name": "Accounting", "credits": 2, "credits_earned": 2, "adjustment": None,
         "codewords": {"possible": 4, "valid": 0, "missed": 4, "valid_list": [],
                       "missed_list": ["code1", "code2", "code3", "code4"]}},
        {"name": "Taxes", "credits": 1, "credits_earned": 1, "adjustment": None,
         "codewords": {"possible": 2, "valid": 0, "missed": 2, "valid_list": [],
                       "missed_list": ["code5", "code6"]}},
    ]
    assert records[1]["in_room"] is True and records[1]["checkout_time"] is None


def test_codewords_any_case_and_refusals(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, fields=[("Ethics", "1.5", ["Ledger", "balance"])])
    make_attendees(settings.database, 1)
    url = f"/api/v2/sessions/{sid}/attendance/codeword"
    r = api.post(url, json={"external_id": "A0001", "codeword": "ledger"})
    assert r.status_code == 409 and r.json()["reason"] == "not_checked_in"
    door(api, sid, external_id="A0001")
    r = api.post(url, json={"external_id": "A0001", "codeword": "nope"})
    assert r.status_code == 409 and r.json()["reason"] == "codeword_invalid"
    for _ in range(2):  # a repeat changes nothing
        r = api.post(url, json={"external_id": "A0001", "codeword": " LEDGER "})
        assert r.status_code == 200, r.text
    cw = r.json()["data"]["record"]["fields_of_study"][0]["codewords"]
    assert cw == {"possible": 2, "valid": 1, "missed": 1, "valid_list": ["Ledger"],
                  "missed_list": ["balance"]}
    assert attendance(api, sid)[0]["fields_of_study"][0]["codewords"] == cw


async def latest_records(api: TestClient, sid: str) -> list[dict[str, Any]]:
    hub = api.app.state.hub  # type: ignore[attr-defined]
    async with hub.read() as conn:
        return await live_store.recent_records(conn, sid, upto=10**9, limit=5)


def test_credit_rule_and_admin_adjustment_keeps_the_original(api: TestClient,
                                                             settings: Settings) -> None:
    sid = make_session(settings.database, date=dt.date(2026, 5, 1), start_time=dt.time(9),
                       end_time=dt.time(10), fields=[("Ethics", "2", ["a", "b"])])
    make_attendees(settings.database, 1)
    assert api.put("/api/v2/app/credit-rule", json={"min_percent": 80}).status_code == 200
    door(api, sid, external_id="A0001", timestamp="2026-05-01T09:00:00Z")
    door(api, sid, "checkout", external_id="A0001", timestamp="2026-05-01T09:30:00Z")
    field = attendance(api, sid)[0]["fields_of_study"][0]
    assert field["credits"] == 0 and field["credits_earned"] == 0
    # the session relaxes the event's rule
    r = api.put(f"/api/v2/sessions/{sid}/credit-rule", json={"min_percent": 50})
    assert r.status_code == 200, r.text
    assert attendance(api, sid)[0]["fields_of_study"][0]["credits"] == 2
    rules = api.get(f"/api/v2/sessions/{sid}/credit-rule").json()["data"]
    assert rules["app"] == {"min_percent": 80.0} and rules["effective"] == {"min_percent": 50.0}
    r = api.put(f"/api/v2/sessions/{sid}/credit-rule", json={"min_percent": 500})
    assert r.status_code == 422
    # an admin adjusts
    r = api.post(f"/api/v2/sessions/{sid}/attendance/credits",
                 json={"external_id": "A0001", "field": "ethics", "credits": 1.5,
                       "note": "left early for a call"})
    assert r.status_code == 200, r.text
    field = attendance(api, sid)[0]["fields_of_study"][0]
    assert field["credits"] == 1.5 and field["credits_earned"] == 2
    assert field["adjustment"]["note"] == "left early for a call"
    # a dashboard's snapshot, read from the database, shows the adjusted record
    snapshot = api.portal.call(latest_records, api, sid)  # type: ignore[union-attr]
    assert snapshot[0]["fields_of_study"][0]["adjustment"]["note"] == "left early for a call"
    assert field["adjustment"]["by"].startswith("api_key:")
    # credits as a string, as they are written everywhere else in the API
    r = api.post(f"/api/v2/sessions/{sid}/attendance/credits",
                 json={"external_id": "A0001", "field": "Ethics", "credits": " 1 "})
    assert r.status_code == 200, r.text
    assert attendance(api, sid)[0]["fields_of_study"][0]["credits"] == 1
    for bad in ("one", "-1", "1001", "nan", "inf", ""):
        r = api.post(f"/api/v2/sessions/{sid}/attendance/credits",
                     json={"external_id": "A0001", "field": "Ethics", "credits": bad})
        assert r.status_code == 422 and r.json()["field"] == "credits", (bad, r.text)
    assert attendance(api, sid)[0]["fields_of_study"][0]["credits"] == 1
    r = api.post(f"/api/v2/sessions/{sid}/attendance/credits",
                 json={"external_id": "A0001", "field": "Nope", "credits": 1})
    assert r.status_code == 422 and "field" in r.json()["message"]
    r = api.post(f"/api/v2/sessions/{sid}/attendance/credits",
                 json={"external_id": "A0001", "field": "Ethics", "credits": None})
    assert attendance(api, sid)[0]["fields_of_study"][0]["adjustment"] is None


def test_remove_filters_messages_and_preview(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 3)
    for ext in ("A0001", "A0002", "A0003"):
        door(api, sid, external_id=ext)
    url = f"/api/v2/sessions/{sid}/attendance/remove"
    for body, message in (
        ({"all": True, "email": "a0001@example.com"}, "Too many possible filters"),
        ({"email": "a0001@example.com", "external_id": "A0001"}, "Too many possible filters"),
        ({}, "No valid filters were passed"),
        ({"all": False, "email": None, "external_id": None}, "No valid filters were passed"),
    ):
        r = api.post(url, json=body)
        assert r.status_code == 400 and r.json()["message"] == message, r.text
    r = api.post(url, json={"preview": True, "email": "A0001@EXAMPLE.COM"})
    data = r.json()["data"]
    assert (data["preview"], data["found"]) == (True, 1)
    assert data["checkins"][0]["user"]["external_id"] == "A0001"
    assert data["filters"] == {"all": False, "email": "A0001@EXAMPLE.COM", "external_id": None}
    assert len(attendance(api, sid)) == 3
    data = api.post(url, json={"external_id": "a0002"}).json()["data"]
    assert (data["preview"], data["found"]) == (False, 1)
    remaining = [r["user"]["external_id"] for r in attendance(api, sid)]
    assert remaining == ["A0001", "A0003"]
    counts = api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]
    assert (counts["checked_in"], counts["in_room"]) == (2, 2)
    data = api.post(url, json={"all": True}).json()["data"]
    assert data["found"] == 2 and attendance(api, sid) == []
    assert kinds(settings, sid)[-2:] == [(4, "removed", 1), (5, "removed", 2)]
    assert scalar(settings.database, sa.select(sa.func.count()).select_from(T_HISTORY)) == 0


def test_clear_counts_and_resets(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, capacity=2)
    make_attendees(settings.database, 2, register=[sid])
    door(api, sid, external_id="A0001", idempotency_key="k1")
    door(api, sid, external_id="A0002")
    r = api.delete(f"/api/v2/sessions/{sid}/attendance")
    assert r.json() == {"status": "ok", "code": "200", "data": {"count": 2}}
    counts = api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]
    assert counts == {"registered": 0, "checked_in": 0, "in_room": 0, "checked_out": 0,
                      "capacity": 2, "remaining": 2}
    assert kinds(settings, sid)[-1] == (3, "cleared", 2)
    # after a clear, the old idempotency key no longer answers for a record that is gone
    assert door(api, sid, external_id="A0001", idempotency_key="k1")["seq"] == 4


def test_preload_registers_and_never_removes(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, registrants_only=True)
    url = f"/api/v2/sessions/{sid}/attendance/preload"
    r = api.post(url, json=[
        {"external_id": "ATTENDEE-001", "first_name": "Alex", "last_name": "Example",
         "email": "attendee@example.com", "field_1": "North Region"},
        {"email": "Second@Example.com", "first_name": "Sam"},
    ])
    assert r.json() == {"status": "ok", "code": "200", "data": {"count": 2}}, r.text
    records = attendance(api, sid)
    assert [(x["user"]["email"], x["checkin_time"], x["history"]) for x in records] == [
        ("attendee@example.com", None, []), ("Second@Example.com", None, [])]
    assert records[0]["total_time_attended"] is None
    counts = api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]
    assert (counts["registered"], counts["checked_in"]) == (2, 0)
    # a preloaded attendee is a registrant of a registrants-only session
    door(api, sid, email="second@example.com")
    # preload again with one new and one known: nobody removed, registered counted once
    r = api.post(url, json=[{"external_id": "ATTENDEE-002", "first_name": "Jo"},
                            {"email": "SECOND@example.com", "last_name": "Smith"}])
    assert r.json()["data"] == {"count": 2}
    records = attendance(api, sid)
    assert len(records) == 3
    second = next(x for x in records if x["user"]["first_name"] == "Sam")
    assert second["user"]["last_name"] == "Smith" and second["in_room"] is True
    counts = api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]
    assert (counts["registered"], counts["checked_in"], counts["in_room"]) == (3, 1, 1)
    assert [k for _, k, _ in kinds(settings, sid)] == ["preload", "checkin", "preload"]
    assert scalar(settings.database,
                  sa.select(sa.func.count()).select_from(T_REGISTRATIONS)) == 3
    assert scalar(settings.database, sa.select(sa.func.count()).select_from(T_RECORDS)) == 3
    r = api.post(url, json=[{"first_name": "Nobody"}])
    assert r.status_code == 422 and "[0]" in r.json()["message"]


def test_clear_then_preload_resynchronises(api: TestClient, settings: Settings) -> None:
    """The reference's recipe: clear the session's attendance, then preload the new list;
    whoever is no longer on it is gone (registration and record)."""
    sid = make_session(settings.database, registrants_only=True)
    other = make_session(settings.database)
    url = f"/api/v2/sessions/{sid}/attendance/preload"
    people = [{"external_id": f"P{i}", "first_name": f"P{i}"} for i in range(3)]
    assert api.post(url, json=people[:2]).status_code == 200
    api.post(f"/api/v2/sessions/{other}/attendance/preload", json=people[:1])
    door(api, sid, external_id="P0")
    assert api.delete(f"/api/v2/sessions/{sid}/attendance").status_code == 200
    assert api.post(url, json=people[1:]).status_code == 200

    assert sorted(x["user"]["external_id"] for x in attendance(api, sid)) == ["P1", "P2"]
    counts = api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]
    assert (counts["registered"], counts["checked_in"]) == (2, 0)
    r = api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "P0"})
    assert r.status_code == 409 and r.json()["reason"] == "not_registered", r.text
    # another session's registrations are untouched
    assert [x["user"]["external_id"] for x in attendance(api, other)] == ["P0"]
    assert api.get(f"/api/v2/sessions/{other}/counts").json()["data"]["registered"] == 1


def test_unknown_session_is_404_everywhere(api: TestClient) -> None:
    for method, path, body in (
        ("GET", "attendance", None), ("DELETE", "attendance", None),
        ("POST", "attendance/remove", {"all": True}), ("POST", "attendance/preload", []),
        ("GET", "counts", None),
    ):
        r = api.request(method, f"/api/v2/sessions/zzzzzz/{path}", json=body)
        assert r.status_code == 404, (path, r.text)


def test_large_session_lists_every_record(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, fields=[("Ethics", "1", ["w"])])
    r = api.post(f"/api/v2/sessions/{sid}/attendance/preload",
                 json=[{"external_id": f"P{i:04d}"} for i in range(600)])
    assert r.json()["data"] == {"count": 600}
    door(api, sid, external_id="P0599")
    records = attendance(api, sid)
    assert len(records) == 600
    assert records[-1]["history"][0]["action"] == "checkin"
    assert all(not r["history"] for r in records[:-1])
