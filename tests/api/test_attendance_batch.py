"""The batch door (``POST .../attendance/batch``): each action answered as the single
endpoint would answer it, in order, through the same door; a retried upload changes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from storage.tables import T_EVENTS, T_HISTORY
from tests.door.kit import make_attendees, make_session, scalar

T0 = "2026-03-01T09:00:00+00:00"

ACTIONS: list[dict[str, Any]] = [
    {"action": "checkin", "external_id": "A0001", "source": "scan"},
    {"action": "checkin", "external_id": "A0001", "source": "scan"},  # already_checked_in
    {"action": "checkin", "external_id": "A0002", "source": "scan"},
    {"action": "checkin", "external_id": "A0003", "source": "scan"},  # capacity_full
    {"action": "checkin", "external_id": "nobody", "source": "scan"},  # 404
    {"action": "checkout", "external_id": "A0002", "source": "scan"},
    {"action": "checkout", "external_id": "A0002", "source": "scan"},  # not_checked_in
    {"action": "checkin", "external_id": "A0003", "source": "scan"},  # room again
    {"action": "checkin", "source": "scan"},  # 422: no attendee named
]


def batch(api: TestClient, sid: str, actions: list[dict[str, Any]]) -> Any:
    return api.post(f"/api/v2/sessions/{sid}/attendance/batch", json={"actions": actions})


def shape(envelope: dict[str, Any]) -> tuple[Any, ...]:
    """What a client reads from an answer: its status and reason, or who is in and the counts
    (the times differ between two sessions)."""
    if envelope["status"] == "ok":
        d = envelope["data"]
        return ("ok", envelope["code"], d["record"]["user"]["external_id"], d["seq"],
                d["counts"]["in_room"], d["counts"]["remaining"])
    return ("error", envelope["code"], envelope.get("reason"), envelope.get("field"))


def test_each_action_is_answered_as_the_single_endpoint_would(api: TestClient,
                                                                 settings: Settings) -> None:
    db = settings.database
    single, bulk = (make_session(db, capacity=2), make_session(db, capacity=2))
    make_attendees(db, 3)
    expected = []
    for a in ACTIONS:
        body = {k: v for k, v in a.items() if k != "action"}
        r = api.post(f"/api/v2/sessions/{single}/attendance/{a['action']}", json=body)
        env = r.json()
        assert env["code"] == str(r.status_code)
        expected.append(shape(env))
    r = batch(api, bulk, ACTIONS)
    assert r.status_code == 200, r.text
    got = [shape(e) for e in r.json()["data"]["results"]]
    assert got == expected
    assert [g[2] if g[0] == "error" else "ok" for g in got] == [
        "ok", "already_checked_in", "ok", "capacity_full", "unknown_attendee", "ok",
        "not_checked_in", "ok", "invalid"]


def test_a_retried_upload_gets_the_first_answers_and_changes_nothing(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, capacity=5)
    make_attendees(db, 3)
    actions = [
        {"action": "checkin", "badge_id": "BA0001", "source": "scan", "idempotency_key": "d1-1",
         "timestamp": T0},
        {"action": "checkin", "badge_id": "BA0002", "source": "scan", "idempotency_key": "d1-2",
         "timestamp": "2026-03-01T09:01:00+00:00"},
        {"action": "checkout", "badge_id": "BA0001", "source": "scan",
         "idempotency_key": "d1-3", "timestamp": "2026-03-01T09:30:00+00:00"},
    ]
    first = batch(api, sid, actions)
    assert first.status_code == 200, first.text
    results = first.json()["data"]["results"]
    assert [e["code"] for e in results] == ["200", "200", "200"]
    # the scan's own time is kept, as the single endpoint keeps it
    record = results[2]["data"]["record"]
    assert record["checkin_time"].startswith("2026-03-01") and record["total_time_attended"] \
        == "00:30:00"
    again = batch(api, sid, actions)
    assert again.content == first.content
    assert scalar(db, sa.select(sa.func.count()).select_from(T_HISTORY)) == 3
    assert scalar(db, sa.select(sa.func.count()).select_from(T_EVENTS)) == 3


def test_a_malformed_action_is_refused_alone_and_a_bad_batch_whole(
        api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    r = batch(api, sid, [{"action": "dance", "external_id": "A0001"},
                         {"action": "checkin", "external_id": 7},
                         {"action": "checkin", "external_id": "A0001"}])
    assert r.status_code == 200, r.text
    results = r.json()["data"]["results"]
    assert [(e["code"], e.get("field")) for e in results[:2]] == [
        ("422", "actions[0].action"), ("422", "actions[1].external_id")]
    assert results[2]["code"] == "200"
    too_many = batch(api, sid, [{"action": "checkin", "external_id": "A0001"}] * 501)
    assert too_many.status_code == 422 and too_many.json()["field"] == "actions"
    assert api.post(f"/api/v2/sessions/{sid}/attendance/batch", json=[]).status_code == 422
    missing = batch(api, "nosuch", [{"action": "checkin", "external_id": "A0001"}])
    assert missing.json()["data"]["results"][0]["code"] == "404"
    assert scalar(settings.database, sa.select(sa.func.count()).select_from(T_HISTORY)) == 1
