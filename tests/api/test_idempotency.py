"""Idempotency keys belong to their caller and to the request they answered: a retry gets its
own answer back, a reused key with another request is refused, and another caller's key is
simply another key."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.auth.accounts import create_api_key
from hub.auth.cookies import ATTENDEE_COOKIE
from hub.auth.principal import Principal
from hub.config import Settings
from hub.door.decide import DoorRequest
from storage.tables import T_API_KEYS, T_HISTORY, T_IDEMPOTENCY
from tests.door.kit import attendee_id, make_attendees, make_session, run, scalar, sign_in


def door(api: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    return api.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)


def in_room(api: TestClient, sid: str) -> int:
    return int(api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["in_room"])


def another_key(settings: Settings) -> str:
    async def go(conn: Any) -> str:
        return (await create_api_key(conn, description="second integration"))[1]

    return run(settings.database, go)


def test_a_reused_key_with_another_request_is_refused_and_leaks_nothing(
    api: TestClient, settings: Settings
) -> None:
    sid = make_session(settings.database, capacity=10)
    make_attendees(settings.database, 2)
    first = door(api, sid, external_id="A0001", idempotency_key="scan-1", note="VIP")
    assert first.status_code == 200, first.text

    # The same key for someone else: refused with its own reason, nothing of A0001's record.
    r = door(api, sid, external_id="A0002", idempotency_key="scan-1")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["status"] == "error" and body["reason"] == "idempotency_key_reused"
    assert "a0001" not in r.text.lower() and "VIP" not in r.text
    # ... and for the same attendee with another body (another note, a timestamp, a source).
    for changed in ({"note": "not VIP"}, {"timestamp": "2026-01-01T09:00:00Z"},
                    {"source": "kiosk"}, {"email": "a0001@example.com"}):
        again = {"external_id": "A0001", "note": "VIP", **changed}
        if "email" in changed:
            del again["external_id"]
        r = door(api, sid, idempotency_key="scan-1", **again)
        assert r.json()["reason"] == "idempotency_key_reused", (changed, r.text)
    # The key on the other action is another key.
    assert door(api, sid, "checkout", external_id="A0001",
                idempotency_key="scan-1").status_code == 200
    # The exact retry still gets the first answer, byte for byte.
    assert door(api, sid, external_id="A0001", idempotency_key="scan-1",
                note="VIP").content == first.content
    assert in_room(api, sid) == 0
    assert scalar(settings.database, sa.select(sa.func.count()).select_from(T_HISTORY)) == 2


def test_another_callers_key_is_another_key(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, capacity=10)
    make_attendees(db, 3)
    mine = door(api, sid, external_id="A0001", idempotency_key="k")
    assert mine.status_code == 200

    # Another API key sending the same key (and body) is judged afresh: A0001 is in the room.
    other = api.headers["API-Key"]
    api.headers["API-Key"] = another_key(settings)
    r = door(api, sid, external_id="A0001", idempotency_key="k")
    assert r.status_code == 409 and r.json()["reason"] == "already_checked_in", r.text
    # ... and naming someone else, it checks them in with their own record.
    r = door(api, sid, external_id="A0002", idempotency_key="k")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["record"]["user"]["external_id"] == "A0002"

    # An attendee's cookie with the key never reaches the API key's stored answer.
    me = attendee_id(db, "A0003")
    sign_in(api, ATTENDEE_COOKIE, {"aid": me})
    r = door(api, sid, external_id="A0001", idempotency_key="k")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["record"]["user"]["external_id"] == "A0003"
    assert "a0001" not in r.text.lower()
    # Each caller's answer is kept under its own key.
    assert scalar(db, sa.select(sa.func.count()).select_from(T_IDEMPOTENCY)) == 3
    api.cookies.clear()
    api.headers["API-Key"] = other
    assert door(api, sid, external_id="A0001", idempotency_key="k").content == mine.content
    assert in_room(api, sid) == 3


def test_a_reused_key_in_one_batch_is_refused(api: TestClient, settings: Settings) -> None:
    """Three requests with one key queued together (one batch): the exact retry gets the
    first answer, the one naming someone else is refused as if it came later."""
    sid = make_session(settings.database, capacity=10)
    make_attendees(settings.database, 2)
    hub = api.app.state.hub  # type: ignore[attr-defined]
    key_id = scalar(settings.database, sa.select(sa.func.max(T_API_KEYS.c.id)))
    caller = Principal(kind="api_key", actor=f"api_key:{key_id}")

    async def together() -> list[Any]:
        return await asyncio.gather(*(
            hub.door.submit(caller, sid, "checkin", DoorRequest(external_id=ext,
                                                                 idempotency_key="same"))
            for ext in ("A0001", "A0002", "A0001")), return_exceptions=True)

    first, second, third = api.portal.call(together)  # type: ignore[union-attr]
    assert isinstance(first, bytes) and third == first
    assert getattr(second, "reason", None) == "idempotency_key_reused"
    assert in_room(api, sid) == 1


def test_removal_forgets_the_answers_of_what_it_removed(api: TestClient,
                                                        settings: Settings) -> None:
    sid = make_session(settings.database, capacity=10)
    make_attendees(settings.database, 2)
    first = door(api, sid, external_id="A0001", idempotency_key="scan-1")
    kept = door(api, sid, external_id="A0002", idempotency_key="scan-2")
    assert first.status_code == kept.status_code == 200
    r = api.post(f"/api/v2/sessions/{sid}/attendance/remove", json={"external_id": "A0001"})
    assert r.status_code == 200 and r.json()["data"]["found"] == 1, r.text

    # The retry is a fresh check-in (a new seq and a record that exists), not the old answer.
    again = door(api, sid, external_id="A0001", idempotency_key="scan-1")
    assert again.status_code == 200, again.text
    assert again.content != first.content
    assert again.json()["data"]["seq"] == 4 and in_room(api, sid) == 2
    records = api.get(f"/api/v2/sessions/{sid}/attendance").json()["data"]
    assert sorted(r["user"]["external_id"] for r in records) == ["A0001", "A0002"]
    # What was not removed keeps its answer.
    assert door(api, sid, external_id="A0002", idempotency_key="scan-2").content == kept.content
