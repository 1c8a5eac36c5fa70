"""Guessing a session's codes: an attendee's wrong check-in codes, check-out codes and
codewords are limited per attendee and session (and per address), answered 429
``too_many_attempts`` with Retry-After; past the limit even the right code waits. Staff and
API keys are not limited."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.auth import throttle
from hub.auth.cookies import ATTENDEE_COOKIE, STAFF_COOKIE
from hub.config import Settings
from tests.door.kit import attendee_id, make_attendees, make_session, make_staff, sign_in


def door(c: TestClient, sid: str, action: str = "checkin", **body: Any) -> Any:
    return c.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body)


def codeword(c: TestClient, sid: str, word: str, **body: Any) -> Any:
    return c.post(f"/api/v2/sessions/{sid}/attendance/codeword", json={"codeword": word, **body})


def limited(r: Any, what: str = "codes") -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert (body["code"], body["reason"]) == ("429", "too_many_attempts")
    assert f"Too many wrong {what}. Try again in 15 minutes." == body["message"]
    assert 14 * 60 < int(r.headers["retry-after"]) <= 15 * 60


def reason(r: Any) -> str:
    return str(r.json()["reason"])


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_ten_wrong_codes_then_even_the_right_one_waits(api: TestClient,
                                                       settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, checkin_code="Ethics", checkout_code="Bye")
    other = make_session(db, checkin_code="Other")
    make_attendees(db, 2)
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    for i in range(10):
        assert reason(door(api, sid, code=f"guess{i}")) == "code_invalid"
    limited(door(api, sid, code="ETHICS"))
    limited(door(api, sid, code="ethics"))  # a refused try is not counted, still limited
    assert reason(door(api, sid)) == "code_required"  # no code sent: nothing guessed
    # Another session, and another attendee at this one, are not locked out.
    assert door(api, other, code="other").status_code == 200
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0002")})
    assert door(api, sid, code="ethics").status_code == 200
    # Check-out codes are counted on their own; a right one gives its attempt back.
    for i in range(9):
        assert reason(door(api, sid, "checkout", code=f"g{i}")) == "checkout_code_invalid"
    assert door(api, sid, "checkout", code="bye").status_code == 200
    assert door(api, sid, code="ethics").status_code == 200  # other refusals are not counted
    assert reason(door(api, sid, "checkout", code="g9")) == "checkout_code_invalid"
    limited(door(api, sid, "checkout", code="bye"))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_wrong_codewords_are_limited(api: TestClient, settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, fields=[("Ethics", "1", ["Ledger"])])
    make_attendees(db, 1)
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    assert door(api, sid).status_code == 200
    for i in range(10):
        assert reason(codeword(api, sid, f"guess{i}")) == "codeword_invalid"
    limited(codeword(api, sid, "ledger"), "codewords")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_one_address_is_limited_whatever_the_attendee(
    api: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "CODE_PER_ADDRESS", throttle.Limit(6))
    db = settings.database
    sid = make_session(db, checkin_code="Ethics")
    make_attendees(db, 3)
    for n in (1, 2):
        sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, f"A000{n}")})
        for i in range(3):
            assert reason(door(api, sid, code=f"guess{i}")) == "code_invalid"
    sign_in(api, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0003")})
    limited(door(api, sid, code="ethics"))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_staff_and_api_keys_are_not_limited(api: TestClient, api_key: str,
                                            settings: Settings) -> None:
    db = settings.database
    sid = make_session(db, checkin_code="Ethics", fields=[("Ethics", "1", ["Ledger"])])
    make_attendees(db, 1)
    for i in range(12):
        assert reason(door(api, sid, external_id="A0001", source="web",
                           code=f"g{i}")) == "code_invalid"
    assert door(api, sid, external_id="A0001", source="web", code="ethics").status_code == 200
    staff = make_staff(db, "scan@example.com", ["scan"])
    sign_in(api, STAFF_COOKIE, {"sid": staff})
    for i in range(12):
        assert reason(codeword(api, sid, f"g{i}", external_id="A0001")) == "codeword_invalid"
    assert codeword(api, sid, "ledger", external_id="A0001").status_code == 200
