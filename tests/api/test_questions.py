"""Q&A through HTTP on SQLite and PostgreSQL: asking (length- and rate-limited), one upvote
each, ordering by votes then time, the approval queue, hiding and starring; the questions in
``GET /sessions/{id}/data``."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from hub.auth.cookies import ATTENDEE_COOKIE
from hub.config import Settings
from tests.door.kit import attendee_id, make_attendees, make_session, sign_in


def ask(api: TestClient, sid: str, text: str, who: str = "A0001") -> Any:
    return api.post(f"/api/v2/sessions/{sid}/questions", json={"question": text,
                                                               "external_id": who})


def upvote(api: TestClient, sid: str, qid: int, who: str) -> dict[str, Any]:
    r = api.post(f"/api/v2/sessions/{sid}/questions/{qid}/upvote", json={"external_id": who})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def listed(api: TestClient, sid: str) -> list[str]:
    data = api.get(f"/api/v2/sessions/{sid}/questions").json()["data"]
    return [q["question"] for q in data["questions"]]


def refused(r: Any, reason: str, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["reason"] == reason, r.text


def test_ask_upvote_once_and_order_by_votes_then_time(api: TestClient,
                                                      settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 3)
    first = ask(api, sid, "  What   is next? ").json()["data"]
    assert first["question"] == "What is next?" and first["approved"] is True
    second = ask(api, sid, "Slides online?", "A0002").json()["data"]
    assert listed(api, sid) == ["What is next?", "Slides online?"]  # same votes: oldest first
    assert upvote(api, sid, second["id"], "A0001") == {"question_id": second["id"],
                                                       "upvotes": 1, "counted": True}
    assert upvote(api, sid, second["id"], "A0001")["counted"] is False  # once each
    assert upvote(api, sid, second["id"], "A0003")["upvotes"] == 2
    assert listed(api, sid) == ["Slides online?", "What is next?"]
    data = api.get(f"/api/v2/sessions/{sid}/data").json()["data"]["questions"]
    assert {(q["question"], q["upvotes"]) for q in data} == {("What is next?", 0),
                                                             ("Slides online?", 2)}


def test_length_and_rate_limits(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 2)
    refused(ask(api, sid, "ab"), "invalid", 422)
    refused(ask(api, sid, "x" * 501), "invalid", 422)
    for i in range(3):
        assert ask(api, sid, f"Question number {i}").status_code == 201
    refused(ask(api, sid, "One too many"), "question_limit", 429)
    assert ask(api, sid, "Someone else may", "A0002").status_code == 201


def test_approval_queue_hide_star_and_answered(api: TestClient, settings: Settings,
                                               api_key: str) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 2)
    assert api.put(f"/api/v2/sessions/{sid}/qa-settings",
                   json={"approval": True}).status_code == 200
    q = ask(api, sid, "Waiting for approval?").json()["data"]
    assert q["approved"] is False
    assert listed(api, sid) == ["Waiting for approval?"]  # moderators see the queue
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0002")})
    assert listed(api, sid) == []  # attendees do not, yet
    refused(api.post(f"/api/v2/sessions/{sid}/questions/{q['id']}/upvote", json={}),
            "not_found", 404)
    refused(api.put(f"/api/v2/sessions/{sid}/questions/{q['id']}", json={"approved": True}),
            "forbidden", 403)
    mine = api.post(f"/api/v2/sessions/{sid}/questions", json={"question": "Mine, pending"})
    assert mine.status_code == 201 and mine.json()["data"]["approved"] is False

    api.cookies.clear()
    api.headers["API-Key"] = api_key
    url = f"/api/v2/sessions/{sid}/questions"
    assert api.put(f"{url}/{q['id']}", json={"approved": True}).json()["data"]["approved"]
    other = mine.json()["data"]["id"]
    api.put(f"{url}/{other}", json={"approved": True, "starred": True})
    starred = api.put(f"{url}/{q['id']}", json={"starred": True, "answered": True}).json()[
        "data"]
    assert starred["starred"] and starred["answered"]
    flags = {x["id"]: x["starred"] for x in api.get(url).json()["data"]["questions"]}
    assert flags == {q["id"]: True, other: False}  # one starred at a time
    api.put(f"{url}/{other}", json={"hidden": True})
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0002")})
    assert listed(api, sid) == ["Waiting for approval?"]
