"""The status line an attendee's app shows for one session, and its action."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from hub.domain.status import (
    DEFAULT_MESSAGES,
    MESSAGE_MAX,
    STATES,
    SessionStatus,
    StatusFacts,
    is_https,
    parse_messages,
    session_status,
)
from hub.errors import Invalid

CREDIT = "https://credits.example.org/claim?session=42"
PAGE = "https://rollcall.example.org/sessions/42"


def status(**facts: object) -> SessionStatus:
    facts.setdefault("credit_url", CREDIT)
    facts.setdefault("register_url", PAGE)
    return session_status(StatusFacts(**facts))  # type: ignore[arg-type]


# --- Every state ------------------------------------------------------------------------

def test_not_registered_without_self_registration_offers_nothing() -> None:
    assert status() == SessionStatus("not_registered", "Not registered for this session")


def test_not_registered_with_self_registration_offers_to_register() -> None:
    assert status(self_registration=True) == SessionStatus(
        "not_registered", "Not registered for this session", "register", PAGE)


def test_registered() -> None:
    assert status(registered=True, self_registration=True) == SessionStatus(
        "registered", "You are registered")


def test_in_the_room_is_checked_in() -> None:
    assert status(registered=True, checked_in=True, in_room=True) == SessionStatus(
        "checked_in", "You are checked in")


def test_back_in_the_room_after_leaving_is_checked_in() -> None:
    assert status(checked_in=True, in_room=True, checked_out=True).state == "checked_in"


def test_left_the_room_is_checked_out() -> None:
    assert status(checked_in=True, checked_out=True) == SessionStatus(
        "checked_out", "You have checked out")


def test_a_completed_record_without_presence_is_checked_out() -> None:
    # e.g. a self-reported session: attended, never in the room.
    assert status(checked_in=True).state == "checked_out"
    assert status(checked_out=True).state == "checked_out"


def test_credit_available_offers_the_sessions_credit_site() -> None:
    assert status(checked_in=True, checked_out=True, credit_available=True) == SessionStatus(
        "credit_available", "Your CE credit is ready to claim", "claim_credit", CREDIT)


def test_credit_available_while_still_in_the_room() -> None:
    # The credit rule decides when credit is ready; the status follows it.
    assert status(checked_in=True, in_room=True, credit_available=True).state == \
        "credit_available"


def test_credit_claimed_is_final() -> None:
    assert status(checked_in=True, checked_out=True, credit_available=True,
                  credit_claimed=True) == SessionStatus("credit_claimed", "CE credit claimed")
    assert status(checked_in=True, in_room=True, credit_claimed=True).state == "credit_claimed"


def test_precedence_over_every_combination_of_facts() -> None:
    names = ("registered", "self_registration", "checked_in", "in_room", "checked_out",
             "credit_available", "credit_claimed")
    seen = set()
    for values in itertools.product((False, True), repeat=len(names)):
        facts = dict(zip(names, values, strict=True))
        got = status(**facts)
        seen.add(got.state)
        if facts["credit_claimed"]:
            expected = "credit_claimed"
        elif facts["credit_available"]:
            expected = "credit_available"
        elif facts["in_room"]:
            expected = "checked_in"
        elif facts["checked_in"] or facts["checked_out"]:
            expected = "checked_out"
        elif facts["registered"]:
            expected = "registered"
        else:
            expected = "not_registered"
        assert got.state == expected, facts
        assert got.message == DEFAULT_MESSAGES[expected]
        if expected == "credit_available":
            assert (got.action, got.action_url) == ("claim_credit", CREDIT)
        elif expected == "not_registered" and facts["self_registration"]:
            assert (got.action, got.action_url) == ("register", PAGE)
        else:
            assert (got.action, got.action_url) == (None, None), facts
    assert seen == set(STATES)


def test_answers_in_the_api_shape() -> None:
    body = msgspec.json.decode(msgspec.json.encode(status(credit_available=True)))
    assert body == {"state": "credit_available", "message": "Your CE credit is ready to claim",
                    "action": "claim_credit", "action_url": CREDIT}
    body = msgspec.json.decode(msgspec.json.encode(status(registered=True)))
    assert body == {"state": "registered", "message": "You are registered", "action": None,
                    "action_url": None}


# --- Only https actions -----------------------------------------------------------------

@pytest.mark.parametrize("url", [
    None, "", "http://credits.example.org/claim", "ftp://credits.example.org/",
    "javascript:alert(1)", "https://", "https:///path-only", "//credits.example.org/claim",
    "credits.example.org/claim", " https://credits.example.org/claim",
    "https://credits.example.org/a b", "https://credits.example.org/\nx", "https://[::1",
])
def test_an_action_without_an_https_url_is_not_offered(url: str | None) -> None:
    claim = status(credit_available=True, credit_url=url)
    assert (claim.state, claim.action, claim.action_url) == ("credit_available", None, None)
    assert claim.message == "Your CE credit is ready to claim"
    register = status(self_registration=True, register_url=url)
    assert (register.state, register.action, register.action_url) == (
        "not_registered", None, None)


@pytest.mark.parametrize("url", [
    "https://credits.example.org/claim?session=42&who=abc", "HTTPS://Credits.Example.org/",
    "https://127.0.0.1:8443/x",
])
def test_https_urls_are_offered(url: str) -> None:
    assert is_https(url)
    assert status(credit_available=True, credit_url=url).action_url == url


# --- Messages ---------------------------------------------------------------------------

def test_default_messages_fit() -> None:
    assert set(DEFAULT_MESSAGES) == set(STATES)
    assert all(0 < len(m) <= MESSAGE_MAX == 35 for m in DEFAULT_MESSAGES.values())


def test_the_events_messages_replace_the_defaults() -> None:
    messages = parse_messages({"registered": "  See you there!  ",
                               "credit_available": "Claim your CME certificate now",
                               "checked_in": None})
    assert messages == {"registered": "See you there!",
                        "credit_available": "Claim your CME certificate now"}
    assert session_status(StatusFacts(registered=True), messages).message == "See you there!"
    assert session_status(StatusFacts(credit_available=True, credit_url=CREDIT),
                          messages).message == "Claim your CME certificate now"
    assert session_status(StatusFacts(in_room=True), messages).message == "You are checked in"


def test_a_message_may_have_35_characters() -> None:
    exactly = "x" * 35
    assert parse_messages({"checked_out": exactly}) == {"checked_out": exactly}
    assert parse_messages({"checked_out": "Zoë ✓ " + "é" * 29}) == {
        "checked_out": "Zoë ✓ " + "é" * 29}  # characters, not bytes


@pytest.mark.parametrize(("value", "message"), [
    ({"registered": "x" * 36},
     "status_messages.registered: must be at most 35 characters (this one has 36)"),
    ({"registered": "   "}, "status_messages.registered: must not be blank"),
    ({"registered": "two\nlines"}, "status_messages.registered: must be one line of text"),
    ({"registered": 5}, "status_messages.registered: must be a string or null"),
    ({"waitlisted": "On the waitlist"},
     "status_messages.waitlisted: is not a session status (one of not_registered, "
     "registered, checked_in, checked_out, credit_available, credit_claimed)"),
    (["registered"], "status_messages: must be an object or null"),
])
def test_invalid_messages_are_refused_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_messages(value)
    assert refused.value.message == message
    assert refused.value.http_status == 422


def test_no_messages_means_the_defaults() -> None:
    assert parse_messages(None) == {}
    assert parse_messages({}) == {}


def test_a_stored_message_that_no_longer_fits_reads_the_default() -> None:
    stored = {"registered": "x" * 80, "checked_in": "", "checked_out": 3}
    assert session_status(StatusFacts(registered=True), stored).message == "You are registered"
    assert session_status(StatusFacts(in_room=True), stored).message == "You are checked in"
    assert session_status(StatusFacts(checked_out=True), stored).message == \
        "You have checked out"
