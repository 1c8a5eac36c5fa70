"""One attendee's status in one session: the line an attendee's app shows, and its action.

The answer is ``{state, message, action, action_url}``. The states, from the strongest fact
down (the first that holds wins):

1. ``credit_claimed``: the external credit site (or the integrator) said the credit was
   claimed. Final: nothing the attendee does afterwards changes it.
2. ``credit_available``: the attendee earned credit here (a field of study earns more than 0,
   or the credit rule is met) and has not claimed it. Action ``claim_credit`` to the session's
   ``credit_url``. This beats being in the room on purpose: the credit rule decides when credit
   is ready (with no rule, at check-in, as the reference awards it; a rule with
   ``checkout_within_minutes`` holds it back until the end), so the status never contradicts it.
3. ``checked_in``: in the room now (also after leaving and coming back).
4. ``checked_out``: attended and left (or holds a completed record, such as a self-report).
5. ``registered``: registered for the session, not attended yet.
6. ``not_registered``: none of the above. Action ``register`` when the session allows
   self-registration.

An action is offered only with an ``https://`` URL that names a host; otherwise ``action`` and
``action_url`` are both null (the state and message stay). Messages come from the event's
settings (one per state, at most 35 characters, checked by ``parse_messages`` on the way in);
a state without one, or with a stored one that is no longer valid, reads the default.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import msgspec

from hub.errors import Invalid

State = Literal[
    "not_registered", "registered", "checked_in", "checked_out", "credit_available",
    "credit_claimed",
]
Action = Literal["register", "claim_credit"]

STATES: Final[tuple[State, ...]] = (
    "not_registered", "registered", "checked_in", "checked_out", "credit_available",
    "credit_claimed",
)
MESSAGE_MAX: Final = 35

DEFAULT_MESSAGES: Final[Mapping[State, str]] = {
    "not_registered": "Not registered for this session",
    "registered": "You are registered",
    "checked_in": "You are checked in",
    "checked_out": "You have checked out",
    "credit_available": "Your CE credit is ready to claim",
    "credit_claimed": "CE credit claimed",
}


class SessionStatus(msgspec.Struct, frozen=True):
    """What the API answers and the attendee's page shows."""

    state: State
    message: str
    action: Action | None = None
    action_url: str | None = None


@dataclass(frozen=True)
class StatusFacts:
    """Everything the status depends on, gathered by the caller.

    ``checked_in`` means the attendee has an attendance record with a check-in (present or
    past); ``in_room`` that they are inside now; ``checked_out`` that the record has a
    check-out. ``credit_available`` is the caller's verdict: some field of study earns more
    than 0, or the credit rule is met. ``register_url`` is where the ``register`` action leads
    (the session's page on the hub), ``credit_url`` the session's external credit site.
    """

    registered: bool = False
    self_registration: bool = False
    checked_in: bool = False
    in_room: bool = False
    checked_out: bool = False
    credit_available: bool = False
    credit_claimed: bool = False
    credit_url: str | None = None
    register_url: str | None = None


def is_https(url: str | None) -> bool:
    """True for an absolute ``https://`` URL with a host and no blanks or control characters."""
    if not url or not isinstance(url, str):
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def state_of(facts: StatusFacts) -> State:
    """The state by the precedence in the module's docstring."""
    if facts.credit_claimed:
        return "credit_claimed"
    if facts.credit_available:
        return "credit_available"
    if facts.in_room:
        return "checked_in"
    if facts.checked_in or facts.checked_out:
        return "checked_out"
    if facts.registered:
        return "registered"
    return "not_registered"


def message_for(state: State, messages: Mapping[str, Any] | None = None) -> str:
    """The event's message for ``state`` when it has a valid one, else the default."""
    if messages:
        custom = messages.get(state)
        if isinstance(custom, str) and _problem(custom) is None:
            return custom.strip()
    return DEFAULT_MESSAGES[state]


def session_status(facts: StatusFacts,
                   messages: Mapping[str, Any] | None = None) -> SessionStatus:
    """The attendee's status in the session: state, message, and the action if one is offered.

    ``messages`` are the event's per-state messages (stored settings; read leniently)."""
    state = state_of(facts)
    action: Action | None = None
    url: str | None = None
    if state == "credit_available":
        action, url = "claim_credit", facts.credit_url
    elif state == "not_registered" and facts.self_registration:
        action, url = "register", facts.register_url
    if action is None or not is_https(url):
        action, url = None, None
    return SessionStatus(state=state, message=message_for(state, messages), action=action,
                         action_url=url)


def _problem(message: str) -> str | None:
    text = message.strip()
    if not text:
        return "must not be blank"
    if len(text) > MESSAGE_MAX:
        return f"must be at most {MESSAGE_MAX} characters (this one has {len(text)})"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "must be one line of text"
    return None


def parse_messages(value: Any, field: str = "status_messages") -> dict[str, str]:
    """Validate the event's per-state messages as an admin sends them; raise Invalid.

    An object mapping states to messages; a state left out, or set to null, reads the default.
    Messages are trimmed and must be 1 to 35 characters on one line. Returns only the states
    that have a message of their own."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(field, "must be an object or null")
    out: dict[str, str] = {}
    for key, message in value.items():
        if key not in STATES:
            raise Invalid(f"{field}.{key}", "is not a session status (one of "
                          + ", ".join(STATES) + ")")
        if message is None:
            continue
        if not isinstance(message, str):
            raise Invalid(f"{field}.{key}", "must be a string or null")
        problem = _problem(message)
        if problem is not None:
            raise Invalid(f"{field}.{key}", problem)
        out[key] = message.strip()
    return out
