"""Group commit at the door: the check-ins and check-outs of one session that arrive together
are settled in one transaction.

Every door request (``POST .../attendance/checkin`` and ``/checkout``, and so the web, kiosk
and scanner pages that call them) is queued on its session. One task per session and worker
takes up to ``MAX_BATCH`` waiting requests at a time and, in ONE transaction:

1. locks the session's counter row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` serialises writers anyway), so it alone moves that session's counts,
   and tops the batch up with the requests that queued while it waited for the lock;
2. re-checks that the API keys of the batch are still enabled (principals are cached);
3. loads what the batch needs in bulk: the attendees (by id, external_id, badge_id or email,
   with their registration), their existing records, the remembered idempotent answers, and
   the history of records that already have one;
4. decides every request in arrival order with the rules of ``hub.rules`` (the same reasons
   and words as one request alone), capacity and ``seq`` counted in Python from the locked
   row; a refusal writes nothing;
5. writes the accepted records, history, overrides, events, idempotent answers and the
   counter row in bulk (``hub.doorstore``), and commits.

Only after the commit are the batch's events published (in ``seq`` order) and the waiting
requests answered: nothing is acknowledged before it is durable. While a batch commits the
next requests queue up, so batches grow with the load and cost nothing when the door is quiet.
A batch whose transaction fails is retried (lost races), then its requests are run one by one
so that one bad request cannot fail the others. More than ``MAX_WAITING`` requests waiting in
a worker are answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from hub import doorstore, records, rules
from hub.auth import Principal, hash_api_key
from hub.envelope import encode
from hub.errors import (
    CheckinRefused,
    Conflict,
    HubError,
    ServiceUnavailable,
    Unauthorized,
)
from hub.events import Counts, SessionEvent, publish_after_commit
from hub.services import (
    DoorAnswer,
    DoorRequest,
    LoadedSession,
    identifier_of,
    in_tx,
    parse_timestamp,
)
from hub.state import Hub
from storage.timeutil import iso, now

log = logging.getLogger("rollcall.door")

MAX_BATCH = 32
MAX_WAITING = 4096
RETRY_AFTER_S = 1
# How long a worker trusts an API key it has looked up (the enabled flag is re-read in every
# batch's transaction, so a disabled key is refused at once all the same).
PRINCIPAL_TTL_S = 30.0


class Overloaded(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The door is busy; try again in a moment.", reason="overloaded")
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


@dataclass
class Item:
    """One waiting door request."""

    principal: Principal
    door: rules.Door
    action: str
    body: DoorRequest
    ident: tuple[str, str] | None
    key: str | None  # the stored idempotency key: "{session}/{action}/{idempotency_key}"
    api_key_id: int | None
    future: asyncio.Future[bytes]


Outcome = bytes | BaseException


@dataclass
class Settled:
    """What one batch transaction decided: an outcome per item, and the events to publish."""

    outcomes: list[Outcome]
    events: list[SessionEvent] = field(default_factory=list)


def api_key_id(principal: Principal) -> int | None:
    if principal.kind != "api_key" or not principal.actor.startswith("api_key:"):
        return None
    try:
        return int(principal.actor.split(":", 1)[1])
    except ValueError:
        return None


class DoorBatcher:
    """The door of one hub process: per-session queues and their group-commit tasks."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.waiting = 0
        self.max_waiting = MAX_WAITING
        self.max_batch = MAX_BATCH
        self._queues: dict[str, deque[Item]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._principals: dict[str, tuple[Principal, float]] = {}
        self.batches = 0  # how many batch transactions committed (for tests and profiling)
        self.largest = 0

    # --- who is at the door ------------------------------------------------------------

    async def principal(self, request: HTTPConnection) -> Principal:
        """The caller; an API key's principal is cached for ``PRINCIPAL_TTL_S`` (its enabled
        flag is re-read inside every batch)."""
        key = request.headers.get("api-key")
        if not key:
            return await self.hub.principal(request)
        digest = hash_api_key(key)
        cached = self._principals.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        principal = await self.hub.principal(request)
        if len(self._principals) > 10_000:
            self._principals.clear()
        self._principals[digest] = (principal, time.monotonic() + PRINCIPAL_TTL_S)
        return principal

    def _forget_key(self, key_id: int) -> None:
        for digest, (p, _) in list(self._principals.items()):
            if api_key_id(p) == key_id:
                del self._principals[digest]

    # --- queueing ------------------------------------------------------------------------

    async def submit(self, principal: Principal, session_id: str, action: str,
                     body: DoorRequest) -> bytes:
        """Check in or out; the encoded ``DoorAnswer`` once committed. Raises HubError."""
        if action not in ("checkin", "checkout"):
            raise RuntimeError(f"unknown door action {action!r}")
        door_ = rules.door_for(principal, body.source, session_id)
        ident = None if door_.attendee_id is not None else identifier_of(body)
        key = f"{session_id}/{action}/{body.idempotency_key}" if body.idempotency_key else None
        if self.waiting >= self.max_waiting:
            raise Overloaded()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        item = Item(principal=principal, door=door_, action=action, body=body, ident=ident,
                    key=key, api_key_id=api_key_id(principal), future=future)
        queue = self._queues.setdefault(session_id, deque())
        queue.append(item)
        self.waiting += 1
        if session_id not in self._runners:
            self._runners[session_id] = asyncio.create_task(
                self._drain(session_id, queue), name=f"rollcall-door-{session_id}")
        # A client that goes away does not cancel its request: it is settled all the same.
        return await asyncio.shield(future)

    async def _drain(self, session_id: str, queue: deque[Item]) -> None:
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
                try:
                    await self._settle(session_id, batch, queue)
                except BaseException as exc:  # a bug: answer 500 rather than hang
                    log.exception("door batch of %d failed", len(batch))
                    for item in batch:
                        _resolve(item, exc if isinstance(exc, Exception)
                                 else RuntimeError("door batch cancelled"))
                    if not isinstance(exc, Exception):
                        raise
                finally:
                    self.waiting -= len(batch)
        finally:
            del self._runners[session_id]
            if not queue:
                self._queues.pop(session_id, None)
            else:  # cancelled with requests left: fail them rather than leave them hanging
                while queue:
                    self.waiting -= 1
                    _resolve(queue.popleft(), ServiceUnavailable("The hub is stopping."))

    async def _settle(self, session_id: str, batch: list[Item],
                      queue: deque[Item] | None = None) -> None:
        """Run ``batch`` as one transaction (retried after a lost race); if it still fails,
        run its items one by one. Publish, then answer.

        With ``queue``, the batch is topped up (to ``max_batch``) from the requests that
        arrived while the transaction waited for the counter row's lock (another worker's
        batch held it): the wait for the lock is the batching window."""
        topped = queue is None

        def top_up() -> None:
            nonlocal topped
            if not topped and queue is not None:
                topped = True
                while queue and len(batch) < self.max_batch:
                    batch.append(queue.popleft())

        try:
            settled = await in_tx(self.hub, lambda conn: self._batch_tx(conn, session_id,
                                                                        batch, top_up))
        except HubError as exc:  # the session is gone, or the like: the same for everyone
            for item in batch:
                _resolve(item, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                log.exception("door request failed")
                _resolve(batch[0], exc)
                return
            log.warning("door batch of %d failed (%s); settling one by one", len(batch),
                        type(exc).__name__)
            for item in batch:
                await self._settle(session_id, [item])
            return
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        await publish_after_commit(self.hub.sink, settled.events)
        for item, outcome in zip(batch, settled.outcomes, strict=True):
            _resolve(item, outcome)

    # --- the transaction ---------------------------------------------------------------

    async def _batch_tx(self, conn: Any, session_id: str, batch: list[Item],
                        top_up: Callable[[], None]) -> Settled:
        store = await doorstore.store_for(conn)
        locked = await store.lock(session_id)  # the counter row, first (raises NotFound)
        top_up()
        outcomes: list[Outcome | None] = [None] * len(batch)
        key_ids = sorted({i.api_key_id for i in batch if i.api_key_id is not None})
        wanted = doorstore.Wanted()
        for item in batch:
            if item.door.attendee_id is not None:
                wanted.ids.add(item.door.attendee_id)
            else:
                assert item.ident is not None
                column, value = item.ident
                wanted.by[column].add(value.lower() if column == "email" else value)
        keys = sorted({i.key for i in batch if i.key is not None})
        # Everything the batch reads, in bulk.
        loaded = await store.load(locked, key_ids, wanted, keys)
        s, people, states, answers = loaded.session, loaded.people, loaded.states, loaded.answers
        for n, item in enumerate(batch):
            if item.api_key_id is not None and item.api_key_id not in loaded.enabled_keys:
                self._forget_key(item.api_key_id)
                outcomes[n] = Unauthorized("This API key has been disabled.")

        found: dict[int, doorstore.Person] = {}
        for n, item in enumerate(batch):
            if outcomes[n] is not None:
                continue
            if item.door.attendee_id is not None:
                matches = people.by_id(item.door.attendee_id)
            else:
                assert item.ident is not None
                matches = people.lookup(*item.ident)
            if not matches:
                outcomes[n] = CheckinRefused("unknown_attendee")
            elif len(matches) > 1:
                outcomes[n] = Conflict("Several attendees share this email; name them by "
                                       "external_id or badge_id.")
            else:
                found[n] = matches[0]

        again = [st.id for st in states.values() if st.checkin_time_actual is not None]
        extras = (await records.load_extras(conn, again, with_credit=bool(s.ctx.fields))
                  if again else {})

        tally = _Tally(seq=s.seq, registered=s.registered, checked_in=s.checked_in,
                       in_room=s.in_room)
        plan = doorstore.Plan(session_id=session_id)
        events: list[SessionEvent] = []
        for n, item in enumerate(batch):
            if outcomes[n] is not None:
                continue
            person = found[n]
            if item.key is not None and item.key in answers:
                outcomes[n] = answers[item.key]
                continue
            state = states.get(person.id)
            try:
                data, event = _decide(item, s, person, state, extras, tally, plan)
            except HubError as exc:
                outcomes[n] = exc
                continue
            except Exception as exc:  # noqa: BLE001 - a bug in one request fails that one
                log.exception("door request failed")
                outcomes[n] = exc
                continue
            states[person.id] = plan.states[person.id]
            outcomes[n] = data
            events.append(event)
            if item.key is not None:
                answers[item.key] = data
                plan.answers.append((item.key, data, plan.at_of[event.seq]))
        if events:
            plan.seq, plan.checked_in, plan.in_room = tally.seq, tally.checked_in, tally.in_room
            await store.write(plan)
        assert all(o is not None for o in outcomes)
        return Settled(outcomes=[o for o in outcomes if o is not None], events=events)


@dataclass
class _Tally:
    """The session's counters as the batch moves them (the row is locked)."""

    seq: int
    registered: int
    checked_in: int
    in_room: int


def _decide(item: Item, s: LoadedSession, person: doorstore.Person,
            current: records.RecordState | None, extras_of: dict[int, records.Extras],
            tally: _Tally, plan: doorstore.Plan) -> tuple[bytes, SessionEvent]:
    """One request, as ``services`` decided it alone: raise the refusal, or record in ``plan``
    what to write and return the answer and its event."""
    door_, body, action = item.door, item.body, item.action
    state = (copy.copy(current) if current is not None
             else records.RecordState(id=0, attendee_id=person.id))
    old = extras_of.get(state.id) if current is not None and state.id else None
    extras = plan.extras.get(person.id) or old or records.Extras()
    extras = records.Extras(history=list(extras.history), submitted=extras.submitted,
                            adjustments=extras.adjustments, overrides=list(extras.overrides))
    attendee = rules.AttendeeView(id=person.id, registration_level=person.registration_level,
                                  registered=person.registered)
    at_now = now()
    view = state.view()
    given = parse_timestamp(body.timestamp, s.ctx.tz)
    at = rules.action_time(door_, given, at_now, view, action)
    overridden: list[str] = []
    if action == "checkin":
        admission = rules.admit(s.view, attendee, view, door_, code=body.code,
                                delivery_format=body.delivery_format, override=body.override)
        overridden += admission.overridden
        if not rules.has_room(s.view.capacity, tally.in_room):
            if not (body.override and door_.may_override):
                raise CheckinRefused("capacity_full")
            overridden.append("capacity_full")
        first = state.checkin_time_actual is None
        if first:
            state.checkin_time = at
            state.checkin_time_actual = at_now
            state.checkin_source = door_.source
        elif state.checkin_time is None or at < state.checkin_time:
            state.checkin_time = at
        if admission.delivery_format is not None and (first or state.delivery_format is None):
            state.delivery_format = admission.delivery_format
        state.in_since = at
        delta = 1
    else:
        rules.release(s.view, view, door_, code=body.code)
        first = False
        assert state.in_since is not None
        state.seconds_attended += rules.interval_seconds(state.in_since, at)
        state.in_since = None
        state.checkout_time = at
        state.checkout_time_actual = at_now
        state.checkout_source = door_.source
        delta = -1
    if body.note is not None and body.note.strip():
        if door_.attendee_id is not None:
            state.attendee_note = body.note.strip()
        else:
            state.admin_note = body.note.strip()
    extras.history.append((action, at, door_.source))
    reason = None
    if overridden:
        reason = (body.override_reason or "").strip() or None
        extras.overrides += [(rule, door_.actor, reason, at_now) for rule in overridden]

    # Accepted: the answer and its event, then (nothing left to raise) into the plan.
    seq = tally.seq + 1
    in_room = tally.in_room + delta
    checked_in = tally.checked_in + (1 if first else 0)
    out = records.serialize(state, person.user, extras, s.ctx, at_now)
    counts = Counts.of(registered=tally.registered, checked_in=checked_in, in_room=in_room,
                       capacity=s.view.capacity)
    data = encode(DoorAnswer(record=out, counts=counts, seq=seq))
    event = SessionEvent(session_id=s.ctx.session_id, seq=seq, epoch=s.epoch, kind=action,
                         at=iso(at_now, s.ctx.tz) or "", counts=counts,
                         record=records.to_builtins(out))
    tally.seq, tally.in_room, tally.checked_in = seq, in_room, checked_in
    plan.touch(person.id, current is not None, state, extras, seq)
    plan.history.append((person.id, action, at, door_.source, door_.actor))
    plan.overrides += [(person.id, rule, door_.actor, reason, at_now) for rule in overridden]
    plan.events.append((event, at_now))
    plan.at_of[seq] = at_now
    return data, event


def _resolve(item: Item, outcome: Outcome) -> None:
    if item.future.done():
        return
    if isinstance(outcome, BaseException):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


def batcher_of(hub: Hub) -> DoorBatcher:
    batcher = hub.extras.get("door")
    if batcher is None:
        batcher = hub.extras["door"] = DoorBatcher(hub)
    assert isinstance(batcher, DoorBatcher)
    return batcher


async def door(hub: Hub, principal: Principal, session_id: str, action: str,
               body: DoorRequest) -> bytes:
    """The door (see ``services.door``), through this worker's batcher."""
    return await batcher_of(hub).submit(principal, session_id, action, body)


__all__ = ["MAX_BATCH", "MAX_WAITING", "DoorBatcher", "Overloaded", "batcher_of", "door"]
