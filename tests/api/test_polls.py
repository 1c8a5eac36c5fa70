"""Polls through HTTP on SQLite and PostgreSQL: moderators create, edit, open, close and
delete them; one answer per attendee per poll, changeable while open; closed polls refuse;
results by type; what attendees see; ``GET /sessions/{id}/data`` in the reference's shape."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from hub.auth.cookies import ATTENDEE_COOKIE, STAFF_COOKIE
from hub.config import Settings
from hub.domain.dates import now
from storage import engagement
from storage.tables import T_POLL_RESPONSES
from tests.api.rows import count, in_db
from tests.door.kit import attendee_id, make_attendees, make_session, make_staff, sign_in


def poll(api: TestClient, sid: str, **body: Any) -> dict[str, Any]:
    r = api.post(f"/api/v2/sessions/{sid}/polls", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def opened(api: TestClient, sid: str, **body: Any) -> str:
    pid = poll(api, sid, **body)["id"]
    r = api.post(f"/api/v2/sessions/{sid}/polls/{pid}/open")
    assert r.status_code == 200 and r.json()["data"]["state"] == "open", r.text
    return str(pid)


def vote(api: TestClient, sid: str, pid: str, response: Any, who: str = "A0001") -> Any:
    return api.post(f"/api/v2/sessions/{sid}/polls/{pid}/responses",
                    json={"response": response, "external_id": who})


def results(api: TestClient, sid: str, pid: str) -> dict[str, Any]:
    polls = api.get(f"/api/v2/sessions/{sid}/polls").json()["data"]["polls"]
    return dict(next(p for p in polls if p["id"] == pid)["results"])


def refused(r: Any, reason: str, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["status"] == "error" and r.json()["reason"] == reason, r.text


def test_one_answer_per_attendee_changeable_while_open(api: TestClient,
                                                       settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 3)
    pid = opened(api, sid, name="Lunch?", choices=["Pizza", "Salad"])
    assert vote(api, sid, pid, "Pizza").json()["data"] == {"poll_id": pid, "response": "Pizza"}
    assert vote(api, sid, pid, "Pizza", "A0002").status_code == 200
    assert vote(api, sid, pid, "Salad").status_code == 200  # A0001 changes their mind
    assert results(api, sid, pid) == {"total": 2, "counts": {"Pizza": 1, "Salad": 1}}
    assert count(settings, T_POLL_RESPONSES) == 2


def test_draft_and_closed_polls_refuse_and_keep_results(api: TestClient,
                                                        settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 2)
    draft = poll(api, sid, name="Not yet", choices=["A", "B"])
    assert draft["state"] == "draft"
    refused(vote(api, sid, draft["id"], "A"), "poll_closed", 409)
    pid = opened(api, sid, name="Q", choices=["A", "B"])
    assert vote(api, sid, pid, "A").status_code == 200
    assert api.post(f"/api/v2/sessions/{sid}/polls/{pid}/close").json()["data"]["state"] \
        == "closed"
    refused(vote(api, sid, pid, "B"), "poll_closed", 409)
    refused(vote(api, sid, pid, "B", "A0002"), "poll_closed", 409)
    # The write itself refuses too (a close that commits between the check and the write).
    other = attendee_id(settings.database, "A0002")
    late = in_db(settings, lambda conn: engagement.answer(
        conn, poll_id=pid, attendee_id=other, choice="B", at=now()))
    assert late is False
    assert results(api, sid, pid)["counts"] == {"A": 1, "B": 0}


def test_answers_by_type(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 3)
    multi = opened(api, sid, name="Tools", type="multiple_select", choices=["X", "Y", "Z"])
    assert vote(api, sid, multi, ["Z", "X"]).json()["data"]["response"] == '["X","Z"]'
    assert vote(api, sid, multi, ["Y"], "A0002").status_code == 200
    assert results(api, sid, multi) == {"total": 2, "counts": {"X": 1, "Y": 1, "Z": 1}}
    refused(vote(api, sid, multi, ["W"]), "invalid", 422)
    refused(vote(api, sid, multi, []), "invalid", 422)

    rating = opened(api, sid, name="Rate", type="rating")
    assert vote(api, sid, rating, 5).status_code == 200
    assert vote(api, sid, rating, 4, "A0002").status_code == 200
    refused(vote(api, sid, rating, 6, "A0003"), "invalid", 422)
    r = results(api, sid, rating)
    assert r["average"] == 4.5 and r["counts"]["5"] == 1 and r["total"] == 2

    text = opened(api, sid, name="Say", type="open_text")
    assert vote(api, sid, text, "  More coffee ").json()["data"]["response"] == "More coffee"
    refused(vote(api, sid, text, "   ", "A0002"), "invalid", 422)
    assert results(api, sid, text) == {"total": 1, "counts": {}, "texts": ["More coffee"]}

    choice = opened(api, sid, name="Pick", choices=["A", "B"])
    refused(vote(api, sid, choice, "C"), "invalid", 422)
    assert count(settings, T_POLL_RESPONSES) == 5  # nothing written by refusals


def test_bad_polls_are_refused(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    url = f"/api/v2/sessions/{sid}/polls"
    refused(api.post(url, json={"name": "X", "choices": ["only one"]}), "invalid", 422)
    refused(api.post(url, json={"name": "X", "choices": ["A", "a"]}), "invalid", 422)
    refused(api.post(url, json={"name": "X", "type": "quiz"}), "invalid", 422)
    refused(api.post(url, json={"choices": ["A", "B"]}), "invalid", 422)
    refused(api.post("/api/v2/sessions/nope/polls", json={"name": "X", "type": "rating"}),
            "not_found", 404)
    assert poll(api, sid, name="R", type="rating", choices=["ignored"])["choices"] == [
        "1", "2", "3", "4", "5"]


def test_edit_order_reveal_and_delete(api: TestClient, settings: Settings) -> None:
    sid = make_session(settings.database)
    make_attendees(settings.database, 1)
    a = poll(api, sid, name="A", choices=["1", "2"], rank=2)["id"]
    b = poll(api, sid, name="B", choices=["1", "2"], rank=1)["id"]
    listed = api.get(f"/api/v2/sessions/{sid}/polls").json()["data"]
    assert [p["id"] for p in listed["polls"]] == [b, a] and listed["count"] == 2
    r = api.put(f"/api/v2/sessions/{sid}/polls/{a}", json={"name": "A2", "choices": ["x", "y"]})
    assert r.json()["data"]["choices"] == ["x", "y"] and r.json()["data"]["name"] == "A2"
    api.post(f"/api/v2/sessions/{sid}/polls/{a}/open")
    vote(api, sid, a, "x")
    refused(api.put(f"/api/v2/sessions/{sid}/polls/{a}", json={"choices": ["p", "q"]}),
            "conflict", 409)
    assert api.put(f"/api/v2/sessions/{sid}/polls/{a}", json={"revealed": True}).json()[
        "data"]["revealed"] is True
    assert api.delete(f"/api/v2/sessions/{sid}/polls/{b}").status_code == 204
    refused(api.delete(f"/api/v2/sessions/{sid}/polls/{b}"), "not_found", 404)


def test_attendee_answers_as_themself_and_sees_only_what_is_shown(
        api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 2)
    hidden = opened(api, sid, name="Secret results", choices=["A", "B"])
    shown = opened(api, sid, name="Shown results", choices=["A", "B"], revealed=True)
    poll(api, sid, name="Draft", choices=["A", "B"])
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    # The body names someone else: the signed-in attendee answers for themself.
    assert vote(api, sid, hidden, "B", "A0002").status_code == 200
    assert vote(api, sid, shown, "A").status_code == 200
    seen = {p["name"]: p for p in api.get(f"/api/v2/sessions/{sid}/polls").json()["data"][
        "polls"]}
    assert set(seen) == {"Secret results", "Shown results"}
    assert "results" not in seen["Secret results"]
    assert seen["Shown results"]["results"]["counts"] == {"A": 1, "B": 0}
    refused(api.post(f"/api/v2/sessions/{sid}/polls", json={"name": "Mine", "type": "rating"}),
            "forbidden", 403)
    data = api.get(f"/api/v2/sessions/{sid}/data")
    assert data.status_code == 403  # the raw data is for integrators


def test_staff_need_moderate_to_run_polls(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    scanner = make_staff(db, "scan@example.com", ["scan"])
    moderator = make_staff(db, "mod@example.com", ["moderate"])
    sign_in(api, STAFF_COOKIE, {"sid": scanner})
    refused(api.post(f"/api/v2/sessions/{sid}/polls", json={"name": "X", "type": "rating"}),
            "forbidden", 403)
    sign_in(api, STAFF_COOKIE, {"sid": moderator})
    assert poll(api, sid, name="X", type="rating")["state"] == "draft"


def test_session_data_in_the_reference_shape(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 2)
    pid = opened(api, sid, name="An example poll", choices=["Choice 1", "Choice 2"], rank=1)
    vote(api, sid, pid, "Choice 2")
    data = api.get(f"/api/v2/sessions/{sid}/data").json()["data"]
    entry = data["polls"][pid]
    assert set(entry) == {"created", "name", "rank", "type", "choices", "responses"}
    assert (entry["name"], entry["rank"], entry["type"]) == ("An example poll", 1,
                                                              "multiple_choice")
    (resp,) = entry["responses"]
    assert resp["response"] == "Choice 2" and resp["external_id"] == "A0001"
    assert resp["user_id"] == str(attendee_id(db, "A0001"))
