"""GET /sessions/{id}/data: polls keyed by id (responses null until answered) and questions."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.dates import now
from storage.tables import T_ATTENDEES, T_POLL_RESPONSES, T_POLLS, T_QUESTIONS
from tests.api.rows import insert
from tests.api.test_sessions import create

T0 = datetime(2019, 1, 8, 16, 47, 2, tzinfo=UTC)


def test_no_polls_or_questions(api: TestClient) -> None:
    sid = create(api, name="S")
    r = api.get(f"/api/v2/sessions/{sid}/data")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "code": "200", "data": {"polls": {}, "questions": []}}


def test_polls_responses_and_questions(api: TestClient, settings: Settings) -> None:
    api.put("/api/v2/app", json={"timezone": "America/Chicago"})
    sid = create(api, name="S")
    other = create(api, name="Other")
    aid = insert(settings, T_ATTENDEES, first_name="Alex", external_id="ATT-1",
                 created_at=now())
    insert(settings, T_POLLS, id="poll2", session_id=sid, name="Second", rank=2,
           type="multiple_choice", choices=["Yes", "No"], created=T0)
    insert(settings, T_POLLS, id="poll1", session_id=sid, name="An example poll", rank=1,
           type="multiple_choice", choices=["Choice 1", "Choice 2", "Choice 3"], created=T0)
    insert(settings, T_POLLS, id="elsewhere", session_id=other, name="Not this session",
           choices=[], created=T0)
    rid = insert(settings, T_POLL_RESPONSES, poll_id="poll1", attendee_id=aid,
                 choice="Choice 2", created=T0)
    insert(settings, T_QUESTIONS, session_id=sid, attendee_id=aid, text="Why?", upvotes=3,
           answered=True, created=T0)
    insert(settings, T_QUESTIONS, session_id=other, text="Not here", created=T0)

    data = api.get(f"/api/v2/sessions/{sid}/data").json()["data"]
    assert list(data["polls"]) == ["poll1", "poll2"]  # by rank
    assert data["polls"]["poll1"] == {
        "created": "2019-01-08T10:47:02-06:00",
        "name": "An example poll",
        "rank": 1,
        "type": "multiple_choice",
        "choices": ["Choice 1", "Choice 2", "Choice 3"],
        "responses": [{"id": str(rid), "response": "Choice 2", "user_id": str(aid),
                       "external_id": "ATT-1", "created": "2019-01-08T10:47:02-06:00"}],
    }
    assert data["polls"]["poll2"]["responses"] is None
    assert len(data["questions"]) == 1
    q = data["questions"][0]
    assert (q["question"], q["upvotes"], q["answered"], q["external_id"]) == ("Why?", 3, True,
                                                                             "ATT-1")


def test_unknown_session_is_404(api: TestClient) -> None:
    r = api.get("/api/v2/sessions/nope/data")
    assert r.status_code == 404 and r.json()["status"] == "error"
