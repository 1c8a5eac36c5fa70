"""The WebSocket protocol: every frame a tagged msgspec struct, sent as a JSON text frame.

Server frames carry ``type``; on a session channel they also carry the session's ``seq`` (the
attendance engine's per-session sequence number) and ``epoch``. Delta frames (``checkin``,
``checkout``, ``removed``, ``cleared``, ``preload``) are numbered ``seq`` = previous + 1 and
arrive in order; a ``counts`` frame carries absolute values as of its ``seq`` (applying one
twice is harmless). ``docs/realtime.md`` is the reference for clients.

One encoder and one decoder are built once and reused; a frame is encoded once per publish and
the same text is queued on every socket.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

import msgspec

from hub.domain.engagement import PollLive, QuestionLive
from hub.domain.events import Counts, SessionEvent
from hub.errors import REASONS


class Close(IntEnum):
    """Close codes. 4000-4099 (and 1001/1011/1012): reconnect, with backoff and ``?since=``.
    4400-4499: do not reconnect until something changes (sign in, pick another session)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    HEARTBEAT_TIMEOUT = 4000
    TOO_SLOW = 4008
    BAD_REQUEST = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    UNKNOWN_SESSION = 4404
    TOO_MANY_ATTEMPTS = 4429

    @property
    def reconnect(self) -> bool:
        return self.value < 4400

    @property
    def reason(self) -> str:
        """Its machine reason in ``hub.errors.REASONS``."""
        return _CLOSE_REASONS.get(self.value, "going_away")


_CLOSE_REASONS = {r.close: code for code, r in REASONS.items() if r.close is not None}


class _Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


# --- server -> client: session channel ------------------------------------------------------


class RecordsSnapshot(_Frame, tag="snapshot"):
    session_id: str
    seq: int
    epoch: str
    counts: Counts
    records: list[dict[str, Any]]  # newest first


class CheckinFrame(_Frame, tag="checkin"):
    session_id: str
    seq: int
    epoch: str
    at: str
    record: dict[str, Any] | None


class CheckoutFrame(_Frame, tag="checkout"):
    session_id: str
    seq: int
    epoch: str
    at: str
    record: dict[str, Any] | None


class RemovedFrame(_Frame, tag="removed"):
    session_id: str
    seq: int
    epoch: str
    at: str
    count: int


class ClearedFrame(_Frame, tag="cleared"):
    session_id: str
    seq: int
    epoch: str
    at: str


class PreloadFrame(_Frame, tag="preload"):
    session_id: str
    seq: int
    epoch: str
    at: str
    count: int


class CountsFrame(_Frame, tag="counts"):
    session_id: str
    seq: int
    epoch: str
    counts: Counts


class PromptFrame(_Frame, tag="prompt"):
    """A moderator's prompt to the attendees in the room (e.g. "enter the codeword")."""

    session_id: str
    seq: int
    epoch: str
    message: str
    field: str | None = None


# --- server -> client: live engagement (dashboards and attendees) --------------------------
# Absolute states, not deltas: no ``seq`` (they are not part of the delta stream); the newest
# frame of a type replaces what you hold. Coalesced like ``counts``; sent on connect.


class PollsFrame(_Frame, tag="polls"):
    """Every poll of the session with results (dashboards); the open and revealed ones
    (attendees: results only when revealed)."""

    session_id: str
    polls: list[PollLive]


class QuestionsFrame(_Frame, tag="questions"):
    """The session's questions, most votes first, then oldest (attendees: approved and not
    hidden ones only)."""

    session_id: str
    questions: list[QuestionLive]


class EvaluationFrame(_Frame, tag="evaluation"):
    """When the session's evaluation opens (``opens_at``, null: not scheduled) and whether
    it is open now; the page opens it itself once ``opens_at`` passes."""

    session_id: str
    open: bool
    opens_at: str | None = None


# --- server -> client: attendee channel -----------------------------------------------------


class MeFrame(_Frame, tag="me"):
    """The attendee's own status in the session."""

    session_id: str
    seq: int
    epoch: str
    status: Literal["not_checked_in", "in_room", "checked_out"]
    checkin_time: str | None = None
    checkout_time: str | None = None


class SessionStatusFrame(_Frame, tag="session_status"):
    """The attendee's status in the session as ``GET /sessions/{id}/status`` answers it: sent
    when it changes (a check-in, a check-out, a self-report, a registration, a claimed
    credit)."""

    session_id: str
    state: str
    message: str
    action: str | None = None
    action_url: str | None = None


class SeatsFrame(_Frame, tag="seats"):
    session_id: str
    seq: int
    epoch: str
    capacity: int | None = None
    remaining: int | None = None


# --- server -> client: event-wide channel ---------------------------------------------------


class SessionCounts(msgspec.Struct):
    session_id: str
    name: str
    seq: int
    epoch: str
    counts: Counts


class EventSnapshot(_Frame, tag="event_snapshot"):
    sessions: list[SessionCounts]


# --- server -> client: any channel ----------------------------------------------------------


class PingFrame(_Frame, tag="ping"):
    """Heartbeat; answer with ``{"type": "pong"}`` (any frame counts)."""

    t: float
    session_id: str | None = None
    seq: int | None = None
    epoch: str | None = None


class PongFrame(_Frame, tag="pong"):
    t: float
    session_id: str | None = None
    seq: int | None = None
    epoch: str | None = None


class StatusFrame(_Frame, tag="status"):
    """``live`` false: this hub cannot hear other workers right now (the broker is away);
    the hub polls the database meanwhile and says ``live`` true once it hears again."""

    live: bool
    reason: str | None = None
    session_id: str | None = None
    seq: int | None = None
    epoch: str | None = None


class ErrorFrame(_Frame, tag="error"):
    """A client frame was refused; the connection stays open. ``reason`` is from
    ``hub.errors`` (``malformed_json``, ``invalid``, ``forbidden``, ...)."""

    reason: str
    message: str
    session_id: str | None = None
    seq: int | None = None
    epoch: str | None = None


# --- client -> server -----------------------------------------------------------------------


class ClientPing(_Frame, tag="ping"):
    pass


class ClientPong(_Frame, tag="pong"):
    pass


class Resume(_Frame, tag="resume"):
    """Send me every delta after ``since`` (a gap), or a snapshot when that is too many."""

    since: Annotated[int, msgspec.Meta(ge=0)]


class Auth(_Frame, tag="auth"):
    """First-message authentication with a moderator password (the session's or the app's)."""

    password: Annotated[str, msgspec.Meta(max_length=200)]


class Prompt(_Frame, tag="prompt"):
    """A moderator asks the attendees of the session something (shown on their phones)."""

    message: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    field: Annotated[str, msgspec.Meta(max_length=100)] | None = None


ClientFrame = ClientPing | ClientPong | Resume | Auth | Prompt

_encoder = msgspec.json.Encoder()
_client_decoder = msgspec.json.Decoder(ClientFrame)


def encode(frame: _Frame) -> str:
    """The frame as the text of one WebSocket message."""
    return _encoder.encode(frame).decode()


def batch(session_id: str, deltas: list[str]) -> str:
    """Several delta frames of one session (already encoded, consecutive ``seq``) as one
    message: ``{"type": "batch", "session_id": ..., "events": [delta, ...]}``. Clients apply
    the events in order exactly as if each had come alone."""
    sid = _encoder.encode(session_id).decode()
    return '{"type":"batch","session_id":' + sid + ',"events":[' + ",".join(deltas) + "]}"


def wire(text: str) -> bytes:
    """``text`` as one whole WebSocket text frame from a server (unmasked, no extension):
    built once, the same bytes are written to every socket of a fan-out."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + data


class BadFrame(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def decode_client(text: str) -> ClientFrame:
    """Decode one client frame; raise BadFrame naming what is wrong (and where)."""
    try:
        return _client_decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise BadFrame("invalid", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise BadFrame("malformed_json", f"Not JSON: {exc}") from exc
    except RecursionError:
        raise BadFrame("malformed_json", "The JSON is nested too deeply.") from None


def delta_of(event: SessionEvent) -> _Frame:
    """The session-channel frame for a stored event."""
    sid, seq, epoch, at = event.session_id, event.seq, event.epoch, event.at
    if event.kind == "checkin":
        return CheckinFrame(session_id=sid, seq=seq, epoch=epoch, at=at, record=event.record)
    if event.kind == "checkout":
        return CheckoutFrame(session_id=sid, seq=seq, epoch=epoch, at=at, record=event.record)
    if event.kind == "removed":
        return RemovedFrame(session_id=sid, seq=seq, epoch=epoch, at=at, count=event.count or 0)
    if event.kind == "cleared":
        return ClearedFrame(session_id=sid, seq=seq, epoch=epoch, at=at)
    if event.kind == "preload":
        return PreloadFrame(session_id=sid, seq=seq, epoch=epoch, at=at, count=event.count or 0)
    raise RuntimeError(f"unknown event kind {event.kind!r}")


# --- between hub workers (through the broker) -----------------------------------------------


class BusCounts(msgspec.Struct, tag="counts", tag_field="t"):
    """On the event-wide channel: one session's counts as of ``seq``."""

    session_id: str
    seq: int
    epoch: str
    counts: Counts


class BusPrompt(msgspec.Struct, tag="prompt", tag_field="t"):
    """On a session channel: a moderator's prompt (has no seq of its own)."""

    session_id: str
    message: str
    field: str | None = None


class BusStatus(msgspec.Struct, tag="status", tag_field="t"):
    """On a session channel: one attendee's status in the session may have changed (no seq of
    its own); their listeners re-read it."""

    session_id: str
    attendee_id: int


class BusRefresh(msgspec.Struct, tag="refresh", tag_field="t"):
    """On a session channel or the event-wide channel: the session was created, edited or
    deleted; re-read its settings (capacity, name) from the database."""

    session_id: str


class BusEngage(msgspec.Struct, tag="engage", tag_field="t"):
    """On a session channel: polls, questions or the evaluation changed (``what``); every
    worker re-reads them (coalesced) and sends the absolute state."""

    session_id: str
    what: str  # "polls" | "questions" | "evaluation"


_bus_encoder = msgspec.json.Encoder()
_bus_event_wide = msgspec.json.Decoder(BusCounts | BusRefresh)
_bus_prompt = msgspec.json.Decoder(BusPrompt)
_bus_status = msgspec.json.Decoder(BusStatus)
_bus_engage = msgspec.json.Decoder(BusEngage)

# A session channel carries stored events (the exact bytes of session_events.payload) after
# the byte b"E", prompts after b"P", refreshes after b"R", attendee status changes after b"S"
# and engagement changes after b"G". The event-wide channel carries BusCounts and BusRefresh.
EVENT_MARK = b"E"
PROMPT_MARK = b"P"
REFRESH_MARK = b"R"
STATUS_MARK = b"S"
ENGAGE_MARK = b"G"


def bus_event(payload: bytes) -> bytes:
    return EVENT_MARK + payload


def bus_prompt(prompt: BusPrompt) -> bytes:
    return PROMPT_MARK + _bus_encoder.encode(prompt)


def bus_counts(msg: BusCounts | BusRefresh) -> bytes:
    return _bus_encoder.encode(msg)


def read_bus_counts(data: bytes) -> BusCounts | BusRefresh:
    return _bus_event_wide.decode(data)


def bus_refresh(session_id: str) -> bytes:
    return REFRESH_MARK + _bus_encoder.encode(BusRefresh(session_id=session_id))


def read_bus_prompt(data: bytes) -> BusPrompt:
    return _bus_prompt.decode(data[1:])


def bus_status(msg: BusStatus) -> bytes:
    return STATUS_MARK + _bus_encoder.encode(msg)


def read_bus_status(data: bytes) -> BusStatus:
    return _bus_status.decode(data[1:])


def bus_engage(msg: BusEngage) -> bytes:
    return ENGAGE_MARK + _bus_encoder.encode(msg)


def read_bus_engage(data: bytes) -> BusEngage:
    return _bus_engage.decode(data[1:])
