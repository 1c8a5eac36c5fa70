"""Offline doors over HTTP: the door list (ETag, since), seat leases against capacity, their
return and expiry, the leasing switch, and the conflicts an upload raises."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from storage.tables import T_COUNTERS, T_LEASES
from tests.api.rows import in_db
from tests.door.kit import make_attendees, make_session, scalar


def door(api: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    return api.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)


def lease(api: TestClient, sid: str, seats: int, **kw: Any) -> Any:
    return api.post(f"/api/v2/sessions/{sid}/leases", json={"seats": seats, **kw})


def counts(api: TestClient, sid: str) -> dict[str, Any]:
    return dict(api.get(f"/api/v2/sessions/{sid}/counts").json()["data"])


def upload(api: TestClient, sid: str, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = api.post(f"/api/v2/sessions/{sid}/attendance/batch", json={"actions": actions})
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["results"])


def test_door_list_with_etag_and_changes_since(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, name="Keynote", capacity=50, registrants_only=True,
                       registration_levels=["Full"])
    make_attendees(db, 3, register=[sid], level="Full")
    url = f"/api/v2/sessions/{sid}/doorlist"
    first = api.get(url)
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert data["session"] == {"id": sid, "name": "Keynote", "capacity": 50,
                               "registrants_only": True, "registration_levels": ["Full"],
                               "delivery_format": None, "leasing": True}
    assert data["full"] is True and data["seq"] == 0
    assert [(p["external_id"], p["badge_id"], p["registration_level"], p["registered"],
             p["in_room"]) for p in data["attendees"]] == [
        (f"A000{i}", f"BA000{i}", "Full", True, False) for i in (1, 2, 3)]
    etag = first.headers["etag"]
    same = api.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""

    door(api, sid, badge_id="BA0002")
    changed = api.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    delta = api.get(url, params={"since": 0}).json()["data"]
    assert delta["full"] is False and delta["since"] == 0 and delta["seq"] == 1
    assert [(p["badge_id"], p["in_room"]) for p in delta["attendees"]] == [("BA0002", True)]
    assert api.get(url, params={"since": 1}).json()["data"]["attendees"] == []
    # records removed after `since`: the whole list again
    api.post(f"/api/v2/sessions/{sid}/attendance/remove", json={"all": True})
    assert api.get(url, params={"since": 1}).json()["data"]["full"] is True
    assert api.get(url, params={"since": "x"}).status_code == 422
    assert api.get("/api/v2/sessions/nosuch/doorlist").status_code == 404


def test_leases_hold_seats_against_capacity_until_used_or_returned(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, capacity=10)
    make_attendees(db, 14)
    r = lease(api, sid, 4, ttl_s=600)
    assert r.status_code == 201, r.text
    held = r.json()["data"]
    assert (held["seats"], held["used"], held["held"], held["running"]) == (4, 0, 4, True)
    assert counts(api, sid)["leased"] == 4 and counts(api, sid)["remaining"] == 6
    # the other doors fill the six seats left, then the room is full for them
    for i in range(1, 7):
        assert door(api, sid, external_id=f"A{i:04d}").status_code == 200
    full = door(api, sid, external_id="A0007")
    assert full.status_code == 409 and full.json()["reason"] == "capacity_full"
    assert lease(api, sid, 1).json()["reason"] == "capacity_full"
    # the offline door's four admissions take the lease's seats; a fifth finds none
    results = upload(api, sid, [
        {"action": "checkin", "external_id": f"A{i:04d}", "source": "scan",
         "lease_id": held["id"], "idempotency_key": f"off-{i}"} for i in range(7, 12)])
    assert [e["code"] for e in results] == ["200"] * 4 + ["409"]
    assert results[4]["reason"] == "capacity_full"
    assert results[3]["data"]["counts"]["in_room"] == 10
    assert scalar(db, sa.select(T_COUNTERS.c.in_room)) == 10
    assert scalar(db, sa.select(T_LEASES.c.used)) == 4
    # one leaves; a lease of 3 gets the one free seat; returning it frees it again
    assert door(api, sid, "checkout", external_id="A0001").status_code == 200
    small = lease(api, sid, 3).json()["data"]
    assert small["seats"] == 1 and counts(api, sid)["remaining"] == 0
    back = api.delete(f"/api/v2/sessions/{sid}/leases/{small['id']}")
    assert back.status_code == 200 and back.json()["data"]["held"] == 0
    assert counts(api, sid)["remaining"] == 1
    assert api.delete(f"/api/v2/sessions/{sid}/leases/nope").status_code == 404
    assert lease(api, sid, 0).status_code == 422


def test_an_expired_lease_frees_its_seats_and_its_late_upload_is_a_conflict(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, capacity=2)
    make_attendees(db, 4)
    held = lease(api, sid, 2, ttl_s=30).json()["data"]
    assert counts(api, sid)["remaining"] == 0

    async def expire(conn: Any) -> None:
        await conn.execute(sa.update(T_LEASES).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))

    in_db(settings, expire)
    assert "leased" not in counts(api, sid) and counts(api, sid)["remaining"] == 2
    assert api.get(f"/api/v2/sessions/{sid}/leases").json()["data"] == []
    for i in (1, 2):
        assert door(api, sid, external_id=f"A{i:04d}").status_code == 200
    results = upload(api, sid, [
        {"action": "checkin", "external_id": "A0003", "source": "scan", "lease_id": held["id"],
         "decided": "ok", "idempotency_key": "late-1", "timestamp": "2026-03-01T09:00:00Z"}])
    assert results[0]["reason"] == "capacity_full"
    listed = api.get(f"/api/v2/sessions/{sid}/conflicts").json()["data"]
    assert [(c["kind"], c["door_decided"], c["hub_result"], c["lease_id"],
             c["attendee"]["external_id"]) for c in listed] == [
        ("lease_expired", "ok", "capacity_full", held["id"], "A0003")]
    assert listed[0]["scanned_at"].startswith("2026-03-01")


def test_conflicts_list_what_each_door_decided_once(api: TestClient,
                                                     settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 2)
    first = upload(api, sid, [{"action": "checkin", "badge_id": "BA0001", "source": "scan",
                               "decided": "ok", "idempotency_key": "door1-1"}])
    assert first[0]["code"] == "200"
    second = [{"action": "checkin", "badge_id": "BA0001", "source": "scan", "decided": "ok",
               "idempotency_key": "door2-1"},
              {"action": "checkin", "badge_id": "GONE-7", "source": "scan", "decided": "ok",
               "idempotency_key": "door2-2"},
              {"action": "checkin", "badge_id": "BA0002", "source": "scan", "decided": "ok",
               "idempotency_key": "door2-3"}]
    got = upload(api, sid, second)
    assert [e["code"] for e in got] == ["409", "404", "200"]
    upload(api, sid, second)  # a retried upload lists nothing twice
    listed = api.get(f"/api/v2/sessions/{sid}/conflicts").json()["data"]
    assert [(c["kind"], c["hub_result"], c["presented"]) for c in listed] == [
        ("removed", "unknown_attendee", "badge_id: GONE-7"),
        ("double_admission", "already_checked_in", "badge_id: BA0001")]
    double = listed[1]
    assert double["door_decided"] == "ok" and double["door"].startswith("api_key:")
    assert double["other"]["source"] == "scan" and double["other"]["at"]
    assert api.get("/api/v2/conflicts").json()["data"] == listed


def test_an_admin_sets_leasing_off(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database, capacity=5)
    held = lease(api, sid, 2).json()["data"]
    r = api.put(f"/api/v2/sessions/{sid}/leasing", json={"enabled": False})
    assert r.status_code == 200, r.text
    off = lease(api, sid, 1)
    assert off.status_code == 409 and off.json()["reason"] == "leasing_off"
    assert api.get(f"/api/v2/sessions/{sid}/doorlist").json()["data"]["session"][
        "leasing"] is False
    # the running lease keeps its seats
    assert [x["id"] for x in api.get(f"/api/v2/sessions/{sid}/leases").json()["data"]] == [
        held["id"]]
    api.put(f"/api/v2/sessions/{sid}/leasing", json={"enabled": True})
    assert lease(api, sid, 1).status_code == 201
