"""fields_of_study: up to 7, each name + credits; a malformed list silently empties the
session's fields of study (the reference's rule, not an error); omitted or null leaves them.
Rollcall extension: codewords per field, kept by name when an entry carries none."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.dates import now
from storage.tables import T_ATTENDEES, T_CODEWORD_SUBMISSIONS, T_CODEWORDS, T_FIELDS, T_RECORDS
from tests.api.rows import count, in_db, insert
from tests.api.test_sessions import create, get

TWO = [{"name": "Accounting", "credits": "2.5"}, {"name": "Ethics", "credits": "1"}]


def fields(api: TestClient, sid: str) -> list[dict[str, Any]] | None:
    return get(api, sid)["fields_of_study"]  # type: ignore[no-any-return]


def test_fields_round_trip_in_order(api: TestClient) -> None:
    sid = create(api, name="S", fields_of_study=TWO)
    assert fields(api, sid) == [{"name": "Accounting", "credits": "2.5", "codewords": []},
                                {"name": "Ethics", "credits": "1", "codewords": []}]


def test_seven_fields_are_allowed(api: TestClient) -> None:
    seven = [{"name": f"F{i}", "credits": str(i)} for i in range(7)]
    sid = create(api, name="S", fields_of_study=seven)
    assert [f["name"] for f in fields(api, sid) or ()] == [f"F{i}" for i in range(7)]


@pytest.mark.parametrize("credits", ["2", "0.5", "1.50", 3, 0.25, "0"])
def test_numeric_credits_are_accepted(api: TestClient, credits: Any) -> None:
    sid = create(api, name="S", fields_of_study=[{"name": "Tax", "credits": credits}])
    got = fields(api, sid)
    assert got is not None and float(got[0]["credits"]) == float(credits)


MALFORMED = [
    "Accounting",
    {"name": "Accounting", "credits": "2"},
    [{"name": f"F{i}", "credits": "1"} for i in range(8)],
    [{"name": "Accounting"}],
    [{"credits": "2"}],
    [{"name": "", "credits": "2"}],
    [{"name": "Accounting", "credits": "two"}],
    [{"name": "Accounting", "credits": "-1"}],
    [{"name": "Accounting", "credits": "NaN"}],
    [{"name": "Accounting", "credits": True}],
    [{"name": "Accounting", "credits": None}],
    [{"name": 5, "credits": "2"}],
    [{"name": "Accounting", "credits": "2"}, "Ethics"],
    [{"name": "Accounting", "credits": "2"}, {"name": "Accounting", "credits": "3"}],
    [{"name": "Accounting", "credits": "2", "codewords": "ledger"}],
    [{"name": "Accounting", "credits": "2", "codewords": [1]}],
    [None],
    7,
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_list_silently_empties_the_fields(api: TestClient, bad: Any) -> None:
    sid = create(api, name="S", location="Room 1", fields_of_study=TWO)
    r = api.put(f"/api/v2/sessions/{sid}", json={"location": "Room 2", "fields_of_study": bad})
    assert r.status_code == 200, r.text
    data = get(api, sid)
    assert data["fields_of_study"] is None
    assert data["location"] == "Room 2"  # the rest of the request still applies


def test_malformed_list_on_create_is_not_an_error(api: TestClient) -> None:
    sid = create(api, name="S", fields_of_study=[{"name": "Accounting"}])
    assert fields(api, sid) is None


def test_omitted_or_null_leaves_them_and_empty_or_blank_clears(
    api: TestClient, settings: Settings
) -> None:
    sid = create(api, name="S", fields_of_study=TWO)
    api.put(f"/api/v2/sessions/{sid}", json={"name": "Renamed"})
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": None})
    assert len(fields(api, sid) or ()) == 2
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": []})
    assert fields(api, sid) is None
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": TWO})
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": ""})
    assert fields(api, sid) is None
    assert count(settings, T_FIELDS) == 0


def test_put_replaces_the_list(api: TestClient) -> None:
    sid = create(api, name="S", fields_of_study=TWO)
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": [
        {"name": "Taxes", "credits": "3"}, {"name": "Accounting", "credits": "1"}]})
    assert fields(api, sid) == [{"name": "Taxes", "credits": "3", "codewords": []},
                                {"name": "Accounting", "credits": "1", "codewords": []}]


def test_codewords_are_stored_in_order_without_repeats(api: TestClient,
                                                       settings: Settings) -> None:
    sid = create(api, name="S", fields_of_study=[
        {"name": "Accounting", "credits": "2", "codewords": ["ledger", "balance", "Ledger"]},
        {"name": "Ethics", "credits": "1", "codewords": ["honest"]}])
    got = fields(api, sid) or []
    assert [f["codewords"] for f in got] == [["ledger", "balance"], ["honest"]]
    assert count(settings, T_CODEWORDS) == 3


def test_entry_without_codewords_keeps_those_of_the_same_field(api: TestClient) -> None:
    sid = create(api, name="S", fields_of_study=[
        {"name": "Accounting", "credits": "2", "codewords": ["ledger", "balance"]}])
    # An integration that does not know codewords sends the list back without them.
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": [
        {"name": "Accounting", "credits": "3"}, {"name": "Ethics", "credits": "1"}]})
    assert fields(api, sid) == [
        {"name": "Accounting", "credits": "3", "codewords": ["ledger", "balance"]},
        {"name": "Ethics", "credits": "1", "codewords": []}]
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": [
        {"name": "Accounting", "credits": "3", "codewords": ["audit"]}]})
    assert fields(api, sid) == [{"name": "Accounting", "credits": "3", "codewords": ["audit"]}]
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": [
        {"name": "Accounting", "credits": "3", "codewords": []}]})
    assert fields(api, sid) == [{"name": "Accounting", "credits": "3", "codewords": []}]


def test_submitted_codewords_survive_an_update_that_keeps_them(
    api: TestClient, settings: Settings
) -> None:
    """Re-sending the same fields must not wipe what attendees already submitted."""
    sid = create(api, name="S", fields_of_study=[
        {"name": "Accounting", "credits": "2", "codewords": ["ledger", "balance"]}])
    aid = insert(settings, T_ATTENDEES, first_name="Al", created_at=now())
    rid = insert(settings, T_RECORDS, session_id=sid, attendee_id=aid)

    async def ledger_id(conn: Any) -> int:
        return int((await conn.execute(sa.select(T_CODEWORDS.c.id)
                                       .where(T_CODEWORDS.c.word == "ledger"))).scalar_one())

    insert(settings, T_CODEWORD_SUBMISSIONS, record_id=rid,
           codeword_id=in_db(settings, ledger_id), submitted_at=now())
    api.put(f"/api/v2/sessions/{sid}", json={"fields_of_study": [
        {"name": "Ethics", "credits": "1"},
        {"name": "Accounting", "credits": "2.5", "codewords": ["LEDGER", "audit"]}]})
    assert count(settings, T_CODEWORD_SUBMISSIONS) == 1
    assert fields(api, sid) == [
        {"name": "Ethics", "credits": "1", "codewords": []},
        {"name": "Accounting", "credits": "2.5", "codewords": ["LEDGER", "audit"]}]
