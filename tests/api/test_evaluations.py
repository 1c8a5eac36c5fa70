"""GET /evaluations/responses: every question/response pair with session, user, presenter."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.dates import now
from storage.tables import T_ATTENDEES, T_EVALUATIONS
from tests.api.rows import insert
from tests.api.test_sessions import create, get


def test_empty(api: TestClient) -> None:
    r = api.get("/api/v2/evaluations/responses")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "code": "200", "data": {"count": 0, "responses": []}}


def test_responses_in_the_reference_shape(api: TestClient, settings: Settings) -> None:
    api.put("/api/v2/app", json={"timezone": "America/New_York"})
    sid = create(api, name="Breakout A", external_id="BO-A",
                 presenters=[{"name": "Casey Example", "external_id": "P-1"}])
    presenter = get(api, sid)["presenters"][0]
    aid = insert(settings, T_ATTENDEES, first_name="Alex", last_name="Example",
                 external_id="ATT-1", field_1="ATTENDEE-001", field_2="Yes", created_at=now())
    insert(settings, T_EVALUATIONS, session_id=sid, attendee_id=aid,
           question="How was this session?", response="5 - Great", response_value=5,
           timestamp=datetime(2018, 1, 21, 16, 47, 8, tzinfo=UTC))
    insert(settings, T_EVALUATIONS, session_id=sid, attendee_id=aid, presenter_id=presenter["id"],
           question="Speaker?", response="Clear", response_value=None,
           timestamp=datetime(2018, 1, 21, 16, 50, 0, tzinfo=UTC))
    insert(settings, T_EVALUATIONS, session_id=sid, attendee_id=aid,
           question="Pace?", response="4.5", response_value=4.5,
           timestamp=datetime(2018, 1, 21, 16, 55, 0, tzinfo=UTC))

    data = api.get("/api/v2/evaluations/responses").json()["data"]
    assert data["count"] == 3
    first, second, third = data["responses"]
    assert first == {
        "session": {"name": "Breakout A", "external_id": "BO-A"},
        "user": {"id": str(aid), "external_id": "ATT-1", "first_name": "Alex",
                 "last_name": "Example", "field_1": "ATTENDEE-001", "field_2": "Yes",
                 "field_3": None, "field_4": None, "field_5": None},
        "presenter": None,
        "question": "How was this session?",
        "response": "5 - Great",
        "response_value": 5,
        "timestamp": "Sun, 21 Jan 2018 11:47:08 -0500",
    }
    assert second["presenter"] == presenter
    assert second["response_value"] is None
    assert third["response_value"] == 4.5


def test_timestamp_is_utc_without_an_event_timezone(api: TestClient, settings: Settings) -> None:
    sid = create(api, name="S")
    aid = insert(settings, T_ATTENDEES, first_name="A", created_at=now())
    insert(settings, T_EVALUATIONS, session_id=sid, attendee_id=aid, question="Q", response="R",
           timestamp=datetime(2018, 1, 21, 16, 47, 8, tzinfo=UTC))
    row = api.get("/api/v2/evaluations/responses").json()["data"]["responses"][0]
    assert row["timestamp"] == "Sun, 21 Jan 2018 16:47:08 +0000"
