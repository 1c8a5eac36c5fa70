"""Session evaluations through HTTP on SQLite and PostgreSQL: the form, when it unlocks
(the schedule, a moderator), the check-in it may require, submitting it once, the record's
``evaluation_complete``, the ``evaluation_required`` credit rule, and the answers in
``GET /evaluations/responses``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from hub.auth.cookies import ATTENDEE_COOKIE
from hub.config import Settings
from storage.tables import T_EVALUATIONS
from tests.api.rows import count
from tests.door.kit import attendee_id, make_attendees, make_session, sign_in

FORM = {"questions": [
    {"text": "How was this session?", "kind": "rating"},
    {"text": "Pace", "kind": "multiple_choice", "choices": ["Too slow", "Right", "Too fast"]},
    {"text": "Anything else?", "kind": "text", "required": False},
]}


def form(api: TestClient, body: dict[str, Any] = FORM) -> list[dict[str, Any]]:
    r = api.put("/api/v2/evaluations/form", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["questions"])


def submit(api: TestClient, sid: str, answers: list[dict[str, Any]], who: str = "A0001") -> Any:
    return api.post(f"/api/v2/sessions/{sid}/evaluation/responses",
                    json={"answers": answers, "external_id": who})


def refused(r: Any, reason: str, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["reason"] == reason, r.text


def record(api: TestClient, sid: str, ext: str = "A0001") -> dict[str, Any]:
    records = api.get(f"/api/v2/sessions/{sid}/attendance").json()["data"]
    return dict(next(r for r in records if r["user"]["external_id"] == ext))


def test_unlocks_before_the_end_by_schedule_or_moderator(api: TestClient,
                                                         settings: Settings) -> None:
    db = settings.database
    later = make_session(db, date=dt.date.today() + dt.timedelta(days=3),
                         end_time=dt.time(10, 0))
    ended = make_session(db, date=dt.date.today() - dt.timedelta(days=1),
                         end_time=dt.time(10, 0))
    undated = make_session(db)
    make_attendees(db, 1)
    rate = form(api)[0]["id"]
    answers = [{"question_id": rate, "response": 5}]
    ev = api.get(f"/api/v2/sessions/{later}/evaluation").json()["data"]
    assert ev["open"] is False and ev["opens_at"].endswith("T09:50:00+00:00")
    refused(submit(api, later, answers), "evaluation_locked", 409)
    assert api.get(f"/api/v2/sessions/{undated}/evaluation").json()["data"]["opens_at"] is None
    assert api.get(f"/api/v2/sessions/{ended}/evaluation").json()["data"]["open"] is True

    # The session's own setting (at the end) moves the time; a moderator opens it now.
    r = api.put(f"/api/v2/sessions/{later}/evaluation/form", json={"unlock_minutes": 0})
    assert r.json()["data"]["unlock_minutes"] == 0
    assert api.get(f"/api/v2/sessions/{later}/evaluation").json()["data"][
        "opens_at"].endswith("T10:00:00+00:00")
    assert api.post(f"/api/v2/sessions/{later}/evaluation/unlock").status_code == 200
    assert api.get(f"/api/v2/sessions/{later}/evaluation").json()["data"]["open"] is True
    assert count(settings, T_EVALUATIONS) == 0


def test_submitting_sets_evaluation_complete_once_and_fills_responses(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, name="Breakout", external_id="BO-1")
    make_attendees(db, 2)
    rate, pace, _ = (q["id"] for q in form(api))
    api.post(f"/api/v2/sessions/{sid}/evaluation/unlock")
    api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "A0001"})
    assert record(api, sid)["evaluation_complete"] == "0"

    refused(submit(api, sid, [{"question_id": rate, "response": 5}]), "invalid", 422)  # pace
    refused(submit(api, sid, [{"question_id": rate, "response": 6},
                              {"question_id": pace, "response": "Right"}]), "invalid", 422)
    refused(submit(api, sid, [{"question_id": rate, "response": 5},
                              {"question_id": pace, "response": "Meh"}]), "invalid", 422)
    assert count(settings, T_EVALUATIONS) == 0
    good = [{"question_id": rate, "response": "5 - Great"},
            {"question_id": pace, "response": "Right"}]
    r = submit(api, sid, good)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"session_id": sid, "evaluation_complete": True, "count": 2}
    assert record(api, sid)["evaluation_complete"] == "1"
    refused(submit(api, sid, good), "evaluation_done", 409)

    data = api.get("/api/v2/evaluations/responses").json()["data"]
    assert data["count"] == 2
    first = data["responses"][0]
    assert first["session"] == {"name": "Breakout", "external_id": "BO-1"}
    assert first["user"]["external_id"] == "A0001" and first["presenter"] is None
    assert (first["question"], first["response"], first["response_value"]) == (
        "How was this session?", "5 - Great", 5)
    assert first["timestamp"].endswith("+0000")


def test_check_in_required_and_the_attendee_submits_for_themself(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 1)
    rate = form(api, {"questions": [{"text": "Rate", "kind": "rating"}],
                      "requires_checkin": True})[0]["id"]
    api.post(f"/api/v2/sessions/{sid}/evaluation/unlock")
    answers = [{"question_id": rate, "response": 4}]
    refused(submit(api, sid, answers), "not_checked_in", 409)
    api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "A0001"})
    for odd in ("²", "٤", "9" * 5000):  # digits to str.isdigit(), not ratings
        refused(submit(api, sid, [{"question_id": rate, "response": odd}]), "invalid", 422)
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    ev = api.get(f"/api/v2/sessions/{sid}/evaluation").json()["data"]
    assert ev["complete"] is False and ev["requires_checkin"] is True
    assert api.post(f"/api/v2/sessions/{sid}/evaluation/responses",
                    json={"answers": answers}).status_code == 200
    assert api.get(f"/api/v2/sessions/{sid}/evaluation").json()["data"]["complete"] is True
    refused(api.post(f"/api/v2/sessions/{sid}/evaluation/unlock"), "forbidden", 403)


def test_per_presenter_questions_and_session_overrides(api: TestClient,
                                                       settings: Settings) -> None:
    r = api.post("/api/v2/sessions", json={"name": "Panel", "presenters": [
        {"name": "Casey", "external_id": "P-1"}, {"name": "Robin", "external_id": "P-2"}]})
    sid = r.json()["data"]["id"]
    make_attendees(settings.database, 1)
    form(api)  # the event's form; this session has its own
    r = api.put(f"/api/v2/sessions/{sid}/evaluation/form", json={"questions": [
        {"text": "Speaker clarity", "kind": "rating", "per_presenter": True}]})
    assert [q["text"] for q in r.json()["data"]["questions"]] == ["Speaker clarity"]
    api.post(f"/api/v2/sessions/{sid}/evaluation/unlock")
    items = api.get(f"/api/v2/sessions/{sid}/evaluation").json()["data"]["items"]
    assert [i["presenter"] for i in items] == ["Casey", "Robin"]
    q = items[0]["question_id"]
    refused(submit(api, sid, [{"question_id": q, "response": 5,
                               "presenter_id": items[0]["presenter_id"]}]), "invalid", 422)
    assert submit(api, sid, [{"question_id": q, "response": 5, "presenter_id": i["presenter_id"]}
                             for i in items]).status_code == 200
    rows = api.get("/api/v2/evaluations/responses").json()["data"]["responses"]
    assert sorted(r["presenter"]["name"] for r in rows) == ["Casey", "Robin"]


def test_evaluation_required_withholds_credit_until_submitted(api: TestClient,
                                                              settings: Settings) -> None:
    r = api.post("/api/v2/sessions", json={"name": "CE", "fields_of_study": [
        {"name": "Accounting", "credits": "2"}]})
    sid = r.json()["data"]["id"]
    make_attendees(settings.database, 1)
    assert api.put(f"/api/v2/sessions/{sid}/credit-rule",
                   json={"evaluation_required": True}).status_code == 200
    rate = form(api, {"questions": [{"text": "Rate", "kind": "rating"}]})[0]["id"]
    api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "A0001"})
    assert record(api, sid)["fields_of_study"][0]["credits"] == 0
    api.post(f"/api/v2/sessions/{sid}/evaluation/unlock")
    assert submit(api, sid, [{"question_id": rate, "response": 3}]).status_code == 200
    assert record(api, sid)["fields_of_study"][0]["credits"] == 2
