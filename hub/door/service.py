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
4. decides every request in arrival order (``hub.door.decide``, with the rules of
   ``hub.domain.rules``: the same reasons and words as one request alone), capacity and
   ``seq`` counted from the locked row; a refusal writes nothing;
5. writes the accepted records, history, overrides, events, idempotent answers, the door
   log (every action decided, accepted or refused: the scans report) and the counter row in
   bulk (``storage.door``), and commits.

Only after the commit are the batch's events published (in ``seq`` order) and the waiting
requests answered: nothing is acknowledged before it is durable. While a batch commits the
next requests queue up, so batches grow with the load and cost nothing when the door is quiet.
A batch whose transaction fails is retried (lost races), then its requests are run one by one
so that one bad request cannot fail the others. More than ``MAX_WAITING`` requests waiting in
a worker are answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection

from hub import metrics
from hub.auth.accounts import hash_api_key
from hub.auth.cookies import Signer, authenticate
from hub.auth.principal import Principal
from hub.domain import rules
from hub.domain.dates import now
from hub.domain.events import Encoded, EventSink
from hub.door import store
from hub.door.decide import DoorRequest, Item, Tally, decide, door_for, fingerprint, stored_key
from hub.door.loading import identifier_of, load_extras
from hub.door.publish import publish_after_commit
from hub.errors import (
    CheckinRefused,
    Conflict,
    HubError,
    IdempotencyKeyReused,
    ServiceUnavailable,
    Unauthorized,
)
from hub.outage import Outage, connection_lost
from storage.engine import Database

log = logging.getLogger("rollcall.door")

MAX_BATCH = 32
MAX_WAITING = 4096
RETRY_AFTER_S = 1
# How long a worker trusts an API key it has looked up (the enabled flag is re-read in every
# batch's transaction, so a disabled key is refused at once all the same).
PRINCIPAL_TTL_S = 30.0
# On shutdown, how long the queued requests get to be settled before they are failed.
DRAIN_S = 10.0


class Overloaded(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The door is busy; try again in a moment.", reason="overloaded")
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


Outcome = bytes | BaseException


@dataclass
class Settled:
    """What one batch transaction decided: an outcome per item, and the events to publish."""

    outcomes: list[Outcome]
    events: list[Encoded] = field(default_factory=list)


class DoorService:
    """The door of one hub process: per-session queues and their group-commit tasks.

    Built and closed by the app's lifespan: ``close`` stops taking requests and settles the
    ones already queued (for at most ``DRAIN_S``) before the database goes away."""

    def __init__(self, db: Database, signer: Signer, sink: EventSink, *,
                 late_scan_hours: int = rules.LATE_SCAN_HOURS,
                 outage: Outage | None = None) -> None:
        self.db = db
        self.signer = signer
        self.sink = sink
        self.outage = outage or Outage()
        self.late_scan_hours = late_scan_hours
        self.waiting = 0
        self.max_waiting = MAX_WAITING
        self.max_batch = MAX_BATCH
        self.closing = False
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
            return await self._authenticate(request)
        digest = hash_api_key(key)
        cached = self._principals.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        principal = await self._authenticate(request)
        if len(self._principals) > 10_000:
            self._principals.clear()
        self._principals[digest] = (principal, time.monotonic() + PRINCIPAL_TTL_S)
        return principal

    async def _authenticate(self, request: HTTPConnection) -> Principal:
        async with self.db.read() as conn:
            return await authenticate(conn, request, self.signer)

    def _forget_key(self, key_id: int) -> None:
        for digest, (p, _) in list(self._principals.items()):
            if p.api_key_id == key_id:
                del self._principals[digest]

    # --- queueing ------------------------------------------------------------------------

    async def submit(self, principal: Principal, session_id: str, action: str,
                     body: DoorRequest) -> bytes:
        """Check in or out; the encoded ``DoorAnswer`` once committed. Raises HubError."""
        if action not in ("checkin", "checkout"):
            raise RuntimeError(f"unknown door action {action!r}")
        door_ = door_for(principal, body.source, session_id)
        ident = None if door_.attendee_id is not None else identifier_of(body)
        key = stored_key(session_id, action, principal, body)
        if self.closing:
            raise ServiceUnavailable("The hub is stopping; try again in a moment.")
        if self.waiting >= self.max_waiting:
            raise Overloaded()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        item = Item(principal=principal, door=door_, action=action, body=body, ident=ident,
                    key=key, future=future,
                    fingerprint=fingerprint(action, door_, ident, body) if key else "")
        queue = self._queues.setdefault(session_id, deque())
        queue.append(item)
        self.waiting += 1
        if session_id not in self._runners:
            self._runners[session_id] = asyncio.create_task(
                self._drain(session_id, queue), name=f"rollcall-door-{session_id}")
        # A client that goes away does not cancel its request: it is settled all the same.
        return await asyncio.shield(future)

    async def close(self, within: float = DRAIN_S) -> None:
        """Stop taking requests; settle the queued ones (for at most ``within`` seconds),
        then fail what is left with 503."""
        self.closing = True
        runners = list(self._runners.values())
        if runners:
            _, pending = await asyncio.wait(runners, timeout=within)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

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
                                 else ServiceUnavailable("The hub is stopping."))
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
            settled = await self.db.run(
                lambda conn: self._batch_tx(conn, session_id, batch, top_up))
        except HubError as exc:  # the session is gone, or the like: the same for everyone
            for item in batch:
                _resolve(item, exc)
            return
        except Exception as exc:
            if connection_lost(exc):  # one by one would only fail again, each after a wait
                lost = self.outage.unavailable(exc, requests=len(batch))
                for item in batch:
                    _resolve(item, lost)
                return
            if len(batch) == 1:
                log.exception("door request failed")
                _resolve(batch[0], exc)
                return
            log.warning("door batch of %d failed (%s); settling one by one", len(batch),
                        type(exc).__name__ if not isinstance(exc, DBAPIError)
                        else type(exc.orig).__name__)
            for item in batch:
                await self._settle(session_id, [item])
            return
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        metrics.BATCH.observe(len(batch))
        await publish_after_commit(self.sink, settled.events)
        for item, outcome in zip(batch, settled.outcomes, strict=True):
            _resolve(item, outcome)

    # --- the transaction ---------------------------------------------------------------

    async def _batch_tx(self, conn: AsyncConnection, session_id: str, batch: list[Item],
                        top_up: Callable[[], None]) -> Settled:
        st = await store.open_store(conn)
        asked = time.perf_counter()
        locked = await store.lock(st, session_id)  # the counter row, first (raises NotFound)
        metrics.LOCK_WAIT.observe(time.perf_counter() - asked)
        top_up()
        outcomes: list[Outcome | None] = [None] * len(batch)
        key_ids = sorted({i.principal.api_key_id for i in batch
                          if i.principal.api_key_id is not None})
        wanted = store.Wanted()
        for item in batch:
            if item.door.attendee_id is not None:
                wanted.ids.add(item.door.attendee_id)
            else:
                assert item.ident is not None
                column, value = item.ident
                wanted.by[column].add(value.lower() if column == "email" else value)
        keys = sorted({i.key for i in batch if i.key is not None})
        # Seat leases matter only with a capacity or when an upload names one.
        wanted.lease_ids = sorted({i.body.lease_id for i in batch
                                   if i.body.lease_id is not None})
        if locked["capacity"] is not None or wanted.lease_ids:
            wanted.leases_at = now()
        # Everything the batch reads, in bulk (on PostgreSQL in one round trip).
        loaded = await store.read(st, locked, key_ids, wanted, keys)
        s, people, states, answers = loaded.session, loaded.people, loaded.states, loaded.answers
        for n, item in enumerate(batch):
            kid = item.principal.api_key_id
            if kid is not None and kid not in loaded.enabled_keys:
                self._forget_key(kid)
                outcomes[n] = Unauthorized("This API key has been disabled.")
        # A retry gets its remembered answer back whoever it named (even an attendee deleted
        # since); a reused key with another request is refused. Neither is a door action.
        replays: set[int] = set()
        for n, item in enumerate(batch):
            if outcomes[n] is None and (replay := _replay(item, answers)) is not None:
                outcomes[n] = replay
                replays.add(n)

        found: dict[int, store.Person] = {}
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

        again = [st_.id for st_ in states.values() if st_.checkin_time_actual is not None]
        extras = (await load_extras(conn, again, with_credit=bool(s.ctx.fields))
                  if again else {})

        tally = Tally(seq=s.seq, registered=s.registered, checked_in=s.checked_in,
                      in_room=s.in_room,
                      earliest=rules.earliest_scan(s.ctx.date, s.ctx.tz, now(),
                                                   self.late_scan_hours))
        tally.leases = loaded.leases
        tally.leased = sum(max(x.seats - x.used, 0) for x in tally.leases.values() if x.running)
        plan = store.Plan(session_id=session_id)
        events: list[Encoded] = []
        acted: dict[int, dt.datetime] = {}  # item -> when it was decided (replays: never)
        for n, item in enumerate(batch):
            if n in replays:
                continue
            if outcomes[n] is not None:
                acted[n] = now()
                continue
            person = found[n]
            if (replay := _replay(item, answers)) is not None:  # the same key earlier in the batch
                outcomes[n] = replay
                continue
            at = acted[n] = now()
            try:
                data, event, payload = decide(item, s, person, states.get(person.id), extras,
                                              tally, plan, at)
            except HubError as exc:
                outcomes[n] = exc
                continue
            except Exception as exc:  # noqa: BLE001 - a bug in one request fails that one
                log.exception("door request failed")
                outcomes[n] = exc
                continue
            states[person.id] = plan.states[person.id]
            acted[n] = plan.history[-1][2]  # the action's own time (a late scan's)
            outcomes[n] = data
            events.append(Encoded(event, payload))
            if item.key is not None:
                answers[item.key] = store.StoredAnswer(item.fingerprint, data)
                plan.answers.append((item.key, item.fingerprint, person.id, data, at))
        plan.log = [entry for n, at in sorted(acted.items())
                    if (entry := _log_entry(batch[n], found.get(n), outcomes[n], at))]
        if events:
            plan.seq, plan.checked_in, plan.in_room = tally.seq, tally.checked_in, tally.in_room
        if events or plan.log:
            await st.write(plan.batch_write())
        assert all(o is not None for o in outcomes)
        return Settled(outcomes=[o for o in outcomes if o is not None], events=events)


def _log_entry(item: Item, person: store.Person | None, outcome: Outcome | None,
               at: dt.datetime) -> store.LogEntry | None:
    """The door log's row for a decided item: ``ok`` or the refusal's reason (a bug's failure
    is not a door action, and is not logged)."""
    if isinstance(outcome, bytes):
        result = "ok"
    elif isinstance(outcome, HubError) and outcome.reason is not None:
        result = outcome.reason
    else:
        return None
    presented_as, presented = item.ident if item.ident is not None else (None, None)
    return store.LogEntry(
        attendee_id=person.id if person is not None else None,
        action=item.action, result=result, at=at, presented_as=presented_as,
        presented=presented, source=item.door.source, actor=item.door.actor)


def _replay(item: Item, answers: dict[str, store.StoredAnswer]) -> Outcome | None:
    """The remembered answer to ``item`` (its key, from its caller, for the same request), a
    refusal when the key answered another request, or None when the key is new."""
    stored = answers.get(item.key) if item.key is not None else None
    if stored is None:
        return None
    if stored.fingerprint is not None and stored.fingerprint != item.fingerprint:
        return IdempotencyKeyReused(
            "This idempotency_key was already used for a different request (another "
            "attendee, action or body); send a new key for a new request.")
    return stored.response


def _resolve(item: Item, outcome: Outcome) -> None:
    if item.future.done():
        return
    if isinstance(outcome, BaseException):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


__all__ = ["MAX_BATCH", "MAX_WAITING", "DoorService", "Overloaded"]
