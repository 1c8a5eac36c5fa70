"""The door's rules over HTTP, by who is at the door: the same cases as
tests/domain/test_rules.py, answered as the clients see them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.auth.cookies import ATTENDEE_COOKIE, KIOSK_COOKIE, STAFF_COOKIE
from hub.config import Settings
from storage.tables import T_HISTORY, T_OVERRIDES, T_RECORDS
from tests.door.kit import (
    attendee_id,
    make_attendees,
    make_session,
    make_staff,
    scalar,
    sign_in,
)


def door(c: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    return c.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)


def admitted(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def refused(r: Any, reason: str, status: int = 409) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert (body["status"], body["code"], body["reason"]) == ("error", str(status), reason)
    assert body["message"]


def nothing_written(settings: Settings) -> None:
    db = settings.database
    assert scalar(db, sa.select(sa.func.count()).select_from(T_RECORDS)) == 0
    assert scalar(db, sa.select(sa.func.count()).select_from(T_HISTORY)) == 0


def test_code_required_and_invalid_for_web_any_case_accepted(api: TestClient,
                                                             settings: Settings) -> None:
    sid = make_session(settings.database, checkin_code="Ethics")
    make_attendees(settings.database, 1)
    refused(door(api, sid, external_id="A0001", source="web"), "code_required")
    refused(door(api, sid, external_id="A0001", source="web", code="nope"), "code_invalid")
    nothing_written(settings)
    rec = admitted(door(api, sid, external_id="A0001", source="web", code="ETHICS"))["record"]
    assert rec["checkin_source"] == "web"


def test_api_staff_kiosk_need_no_code(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, checkin_code="Ethics")
    make_attendees(db, 3)
    assert admitted(door(api, sid, external_id="A0001"))["record"]["checkin_source"] == "api"
    staff = make_staff(db, "scan@example.com", ["scan"])
    sign_in(api, STAFF_COOKIE, {"sid": staff})
    assert admitted(door(api, sid, badge_id="BA0002"))["record"]["checkin_source"] == "scan"
    sign_in(api, KIOSK_COOKIE, {"sid": staff, "session": sid})
    assert admitted(door(api, sid, email="a0003@example.com"))["record"]["checkin_source"] == \
        "kiosk"


def test_not_registered(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, registrants_only=True)
    make_attendees(settings.database, 1)
    make_attendees(settings.database, 1, prefix="R", register=[sid])
    refused(door(api, sid, external_id="A0001"), "not_registered")
    admitted(door(api, sid, external_id="R0001"))


def test_registration_level(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, registration_levels=["Speaker"])
    make_attendees(settings.database, 1, level="Full")
    make_attendees(settings.database, 1, prefix="S", level="speaker")
    refused(door(api, sid, external_id="A0001"), "registration_level")
    admitted(door(api, sid, external_id="S0001"))


def test_capacity_full(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, capacity=1)
    make_attendees(settings.database, 2)
    admitted(door(api, sid, external_id="A0001"))
    refused(door(api, sid, external_id="A0002"), "capacity_full")


def test_already_checked_in_and_reentry_appends_history(api: TestClient,
                                                        settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    admitted(door(api, sid, external_id="A0001"))
    refused(door(api, sid, external_id="A0001"), "already_checked_in")
    admitted(door(api, sid, "checkout", external_id="A0001"))
    data = admitted(door(api, sid, external_id="A0001"))
    assert [h["action"] for h in data["record"]["history"]] == ["checkin", "checkout", "checkin"]
    assert data["counts"]["checked_in"] == 1 and data["counts"]["in_room"] == 1


def test_not_checked_in(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    refused(door(api, sid, "checkout", external_id="A0001"), "not_checked_in")
    nothing_written(settings)


def test_checkout_code(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, checkout_code="Bye")
    make_attendees(settings.database, 1)
    admitted(door(api, sid, external_id="A0001", source="web"))
    refused(door(api, sid, "checkout", external_id="A0001", source="web"),
            "checkout_code_required")
    refused(door(api, sid, "checkout", external_id="A0001", source="web", code="hello"),
            "checkout_code_invalid")
    rec = admitted(door(api, sid, "checkout", external_id="A0001", source="web",
                        code="BYE"))["record"]
    assert rec["checkout_source"] == "web" and rec["in_room"] is False


def test_delivery_format_required(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, delivery_format="hybrid")
    make_attendees(settings.database, 2)
    refused(door(api, sid, external_id="A0001", source="web"), "delivery_format_required")
    rec = admitted(door(api, sid, external_id="A0001", source="web",
                        delivery_format="virtual"))["record"]
    assert rec["delivery_format"] == "virtual"
    rec = admitted(door(api, sid, external_id="A0002", source="kiosk"))["record"]
    assert rec["delivery_format"] == "in-person"


def test_unknown_attendee(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    refused(door(api, sid, email="ghost@example.com"), "unknown_attendee", 404)


def test_attendee_checks_in_as_themself_with_the_code(api: TestClient,
                                                      settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, checkin_code="X1", capacity=5)
    make_attendees(db, 2)
    me = attendee_id(db, "A0001")
    sign_in(api, ATTENDEE_COOKIE, {"aid": me})
    refused(door(api, sid, external_id="A0002"), "code_required")  # the body names no one
    rec = admitted(door(api, sid, external_id="A0002", code="x1", note="by the window",
                        override=True))["record"]
    assert rec["user"]["external_id"] == "A0001"
    assert rec["attendee_note"] == "by the window" and rec["admin_note"] is None
    assert rec["overrides"] == []
    refused(door(api, sid, "checkout", source="self-report"), "invalid", 422)
    rec = admitted(door(api, sid, "checkout"))["record"]
    assert rec["checkout_source"] == "web"


def test_kiosk_of_another_session_is_403(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid, other = make_session(db), make_session(db)
    make_attendees(db, 1)
    staff = make_staff(db, "kiosk@example.com", ["scan"])
    sign_in(api, KIOSK_COOKIE, {"sid": staff, "session": other})
    r = door(api, sid, external_id="A0001")
    assert r.status_code == 403 and r.json()["reason"] == "forbidden"


def test_staff_without_scan_is_403(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 1)
    staff = make_staff(db, "mod@example.com", ["moderate"])
    sign_in(api, STAFF_COOKIE, {"sid": staff})
    assert door(api, sid, external_id="A0001").status_code == 403


def test_override_is_recorded_with_who_which_rule_and_why(api: TestClient,
                                                          settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, capacity=1, registrants_only=True)
    make_attendees(db, 2, register=[sid])
    make_attendees(db, 1, prefix="X")
    admitted(door(api, sid, external_id="A0001"))
    plain = make_staff(db, "plain@example.com", ["scan"])
    sign_in(api, STAFF_COOKIE, {"sid": plain})
    refused(door(api, sid, external_id="A0002", override=True), "capacity_full")
    boss = make_staff(db, "boss@example.com", ["scan", "override"])
    sign_in(api, STAFF_COOKIE, {"sid": boss})
    data = admitted(door(api, sid, external_id="X0001", override=True,
                         override_reason="VIP speaker"))
    overrides = data["record"]["overrides"]
    assert [(o["rule"], o["by"], o["reason"]) for o in overrides] == [
        ("not_registered", "staff:boss@example.com", "VIP speaker"),
        ("capacity_full", "staff:boss@example.com", "VIP speaker"),
    ]
    assert data["counts"]["in_room"] == 2 and data["counts"]["remaining"] == 0
    assert scalar(db, sa.select(sa.func.count()).select_from(T_OVERRIDES)) == 2


def test_late_uploaded_scan_keeps_its_time(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, date=dt.date(2020, 3, 1))
    make_attendees(settings.database, 1)
    rec = admitted(door(api, sid, external_id="A0001",
                        timestamp="2020-03-01T09:00:00+00:00"))["record"]
    assert rec["checkin_time"] == "2020-03-01T09:00:00+00:00"
    assert rec["checkin_time_actual"] != rec["checkin_time"]
    rec = admitted(door(api, sid, "checkout", external_id="A0001",
                        timestamp="2020-03-01T09:45:30Z"))["record"]
    assert rec["total_time_attended"] == "00:45:30"
    r = door(api, sid, external_id="A0001", timestamp="yesterday-ish")
    assert r.status_code == 422 and "timestamp" in r.json()["message"]


def test_times_are_in_the_event_time_zone(api: TestClient, settings: Settings) -> None:
    assert api.put("/api/v2/app", json={"timezone": "America/Chicago"}).status_code == 200
    sid = make_session(settings.database, date=dt.date(2026, 1, 10))
    make_attendees(settings.database, 1)
    rec = admitted(door(api, sid, external_id="A0001",
                        timestamp="2026-01-10T15:00:00Z"))["record"]
    assert rec["checkin_time"] == "2026-01-10T09:00:00-06:00"
    assert rec["history"][0]["timestamp"] == "2026-01-10T09:00:00-06:00"


OUT_OF_RANGE = [
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59",
    "1900-01-01T00:00:00Z",
    "2026-02-28T05:59:59Z",  # one second before the window: Mar 1st 00:00 in Chicago, less 24 h
]


def test_a_scans_time_must_fall_in_the_late_scan_window(api: TestClient,
                                                         settings: Settings) -> None:
    """From the start of the session's day in the event's zone, less
    ROLLCALL_LATE_SCAN_HOURS (24), to five minutes ahead of the hub's clock."""
    assert api.put("/api/v2/app", json={"timezone": "America/Chicago"}).status_code == 200
    sid = make_session(settings.database, date=dt.date(2026, 3, 1))
    make_attendees(settings.database, 3)
    for when in OUT_OF_RANGE:
        r = door(api, sid, external_id="A0001", timestamp=when)
        assert r.status_code == 422, (when, r.text)
        assert r.json()["field"] == "timestamp", when
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    r = door(api, sid, external_id="A0001", timestamp=future.isoformat())
    assert r.status_code == 422 and "future" in r.json()["message"], r.text
    nothing_written(settings)

    rec = admitted(door(api, sid, external_id="A0001",
                        timestamp="2026-02-28T06:00:00Z"))["record"]
    assert rec["checkin_time"] == "2026-02-28T00:00:00-06:00"
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)  # clock skew: taken as now
    assert admitted(door(api, sid, external_id="A0002", timestamp=soon.isoformat()))


def test_a_kiosks_timestamp_is_not_used_but_out_of_range_is_still_422(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 1)
    staff = make_staff(db, "kiosk@example.com", ["scan"])
    sign_in(api, KIOSK_COOKIE, {"sid": staff, "session": sid})
    for when in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        r = door(api, sid, external_id="A0001", timestamp=when)
        assert r.status_code == 422 and r.json()["field"] == "timestamp", r.text
    rec = admitted(door(api, sid, external_id="A0001", timestamp="2001-01-01T00:00:00Z"))
    assert rec["record"]["checkin_time"] == rec["record"]["checkin_time_actual"]


def test_bad_bodies(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    r = door(api, sid)
    assert r.status_code == 422 and "external_id" in r.json()["message"]
    r = door(api, sid, external_id="A0001", source="pigeon")
    assert r.status_code == 422 and "source" in r.json()["message"]
    r = door(api, sid, external_id="A0001", delivery_format="telepathy")
    assert r.status_code == 422 and "delivery_format" in r.json()["message"]
    r = door(api, sid, external_id="A0001", idempotency_key="k" * 201)
    assert r.status_code == 422
