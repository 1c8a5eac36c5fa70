"""Session events: what the attendance engine records and the real-time hub publishes.

Every accepted check-in, check-out, removal, clear and preload produces one ``SessionEvent``
with the session's next ``seq``, assigned in the same transaction as the change (from the
session's counter row). The event is encoded once: those bytes are stored in
``session_events`` (the replay log behind ``?since=``) and, only after the commit, handed to
the ``EventSink`` with the event (``Encoded``) and published as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

EVENT_KINDS = ("checkin", "checkout", "removed", "cleared", "preload")


class Counts(msgspec.Struct, omit_defaults=True):
    """A session's live numbers, absolute values (never "+1"). ``leased``: seats held by
    offline doors' running leases (shown only when there are some); ``remaining`` leaves them
    out."""

    registered: int
    checked_in: int  # ever checked in
    in_room: int
    checked_out: int  # attended and not in the room now
    capacity: int | None
    remaining: int | None
    leased: int = 0

    @classmethod
    def of(cls, *, registered: int, checked_in: int, in_room: int, capacity: int | None,
           leased: int = 0) -> Counts:
        return cls(
            registered=registered,
            checked_in=checked_in,
            in_room=in_room,
            checked_out=max(checked_in - in_room, 0),
            capacity=capacity,
            remaining=None if capacity is None else max(capacity - in_room - leased, 0),
            leased=leased,
        )


class SessionEvent(msgspec.Struct):
    session_id: str
    seq: int
    epoch: str
    kind: str  # one of EVENT_KINDS
    at: str  # ISO-8601
    counts: Counts
    # The CheckinRecord as GET /attendance shows it (checkin/checkout), else None.
    record: dict[str, Any] | None = None
    # For "removed" and "preload": how many records or registrations it touched.
    count: int | None = None


_event_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(SessionEvent)


def encode_event(event: SessionEvent) -> bytes:
    return _event_encoder.encode(event)


def decode_event(data: bytes) -> SessionEvent:
    return _event_decoder.decode(data)


class Encoded(NamedTuple):
    """A committed event and its encoding (what the log holds)."""

    event: SessionEvent
    payload: bytes


class EventSink(Protocol):
    async def publish_events(self, events: Sequence[Encoded]) -> None:
        """Hand committed events to dashboards. Must not raise for a broker outage."""

    async def session_changed(self, session_id: str) -> None:
        """A session was created, edited (capacity, name...) or deleted: dashboards re-read it.
        Called after the commit. Must not raise for a broker outage."""

    async def engagement_changed(self, session_id: str, what: str) -> None:
        """A session's polls, questions or evaluation (``what``) changed: live views re-read
        them. Called after the commit. Must not raise for a broker outage."""


class NullSink:
    async def publish_events(self, events: Sequence[Encoded]) -> None:
        return None

    async def session_changed(self, session_id: str) -> None:
        return None

    async def engagement_changed(self, session_id: str, what: str) -> None:
        return None
