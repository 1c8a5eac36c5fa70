"""The door's view of what one batch reads and writes, in the domain's types, over the typed
store of ``storage.door`` (SQLAlchemy Core on any dialect, raw psycopg on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.records import AttendeeUser, Extras, RecordState, fields_of, user_of
from hub.door.loading import LoadedSession, session_of
from hub.errors import NotFound
from storage.door import BatchWrite, DoorStore, LogEntry, StoredAnswer, Wanted, door_store

__all__ = ["BatchWrite", "DoorStore", "Lease", "Loaded", "LogEntry", "People", "Person",
           "Plan", "StoredAnswer", "Wanted", "lock", "open_store", "read"]


@dataclass
class Person:
    id: int
    registration_level: str | None
    registered: bool
    user: AttendeeUser
    email_lower: str | None


class People:
    """The attendees a batch named, found by id or by identifier."""

    def __init__(self, people: list[Person]) -> None:
        self._by: dict[tuple[str, Any], list[Person]] = defaultdict(list)
        for p in people:
            self._by["id", p.id].append(p)
            if p.user.external_id is not None:
                self._by["external_id", p.user.external_id].append(p)
            if p.user.badge_id is not None:
                self._by["badge_id", p.user.badge_id].append(p)
            if p.email_lower is not None:
                self._by["email", p.email_lower].append(p)

    def by_id(self, attendee_id: int) -> list[Person]:
        return self._by.get(("id", attendee_id), [])

    def lookup(self, column: str, value: str) -> list[Person]:
        return self._by.get((column, value.lower() if column == "email" else value), [])


@dataclass
class Lease:
    """A seat lease as a batch sees it (``running``: not returned, not expired)."""

    id: str
    seats: int
    used: int
    running: bool




@dataclass
class Loaded:
    """What a batch reads, with the session's counter row locked."""

    session: LoadedSession
    enabled_keys: set[int]
    people: People
    states: dict[int, RecordState]  # attendee id -> their record in the session
    answers: dict[str, StoredAnswer]  # idempotency key -> the answer given
    # The session's running leases and the ones the batch names (read when ``Wanted`` asks).
    leases: dict[str, Lease] = field(default_factory=dict)


@dataclass
class Plan:
    """What a batch writes: the records' final state and every row hanging off them."""

    session_id: str
    states: dict[int, RecordState] = field(default_factory=dict)  # attendee id ->
    existed: dict[int, bool] = field(default_factory=dict)
    extras: dict[int, Extras] = field(default_factory=dict)
    last_seq: dict[int, int] = field(default_factory=dict)
    history: list[tuple[int, str, dt.datetime, str | None, str | None]] = field(
        default_factory=list)  # attendee id, action, timestamp, source, actor
    overrides: list[tuple[int, str, str, str | None, dt.datetime]] = field(
        default_factory=list)  # attendee id, rule, actor, reason, at
    events: list[tuple[int, str, bytes, dt.datetime]] = field(
        default_factory=list)  # seq, kind, payload, at
    answers: list[tuple[str, str, int, bytes, dt.datetime]] = field(
        default_factory=list)  # key, fingerprint, attendee id, answer, at
    log: list[LogEntry] = field(default_factory=list)  # every action decided, in order
    leases_used: dict[str, int] = field(default_factory=dict)  # lease id -> seats used
    seq: int = 0
    checked_in: int = 0
    in_room: int = 0

    def touch(self, attendee_id: int, existed: bool, state: RecordState, extras: Extras,
              seq: int) -> None:
        self.existed.setdefault(attendee_id, existed)
        self.states[attendee_id] = state
        self.extras[attendee_id] = extras
        self.last_seq[attendee_id] = seq

    def batch_write(self) -> BatchWrite:
        w = BatchWrite(session_id=self.session_id, history=self.history,
                       overrides=self.overrides, events=self.events, answers=self.answers,
                       log=self.log, seq=self.seq, checked_in=self.checked_in, in_room=self.in_room,
                       leases_used=self.leases_used)
        for aid, state in self.states.items():
            values = {"attendee_id": aid, **state.columns(), "updated_seq": self.last_seq[aid]}
            if self.existed[aid]:
                w.old_records.append({"id": state.id, **values})
            else:
                w.new_records.append(values)
        return w


async def open_store(conn: AsyncConnection) -> DoorStore:
    return await door_store(conn)


async def lock(store: DoorStore, session_id: str) -> dict[str, Any]:
    """Lock the session's counter row; the session's row. Raises NotFound."""
    row = await store.lock(session_id)
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    return dict(row)


async def read(store: DoorStore, row: dict[str, Any], key_ids: list[int], wanted: Wanted,
               keys: list[str]) -> Loaded:
    """Everything the batch needs, in the domain's types."""
    got = await store.read(row, key_ids, wanted, keys)
    session = session_of(row, fields_of(got.fields))
    people = [Person(id=p["id"], registration_level=p["registration_level"],
                     registered=bool(p["registered"]), user=user_of(p),
                     email_lower=p["email_lower"]) for p in got.people]
    states = {aid: RecordState.of(r) for aid, r in got.records.items()}
    leases = {r["id"]: Lease(id=r["id"], seats=r["seats"], used=r["used"],
                             running=bool(r["running"])) for r in got.leases}
    return Loaded(session=session, enabled_keys=got.enabled_keys, people=People(people),
                  states=states, answers=got.answers, leases=leases)
