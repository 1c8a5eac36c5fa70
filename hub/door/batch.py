"""Many door actions in one request (``POST .../attendance/batch``): the queue an offline door
uploads when the network is back.

Every action goes through the same door as ``/checkin`` and ``/checkout`` (``DoorService``),
queued in the order given, so the group commit decides them in that order with every rule and
the capacity; each is answered exactly as the single endpoint would answer it: its own HTTP
status in ``code`` and its own envelope. Actions are independent: one refused or malformed
action does not stop the others, and each keeps its own idempotency key (a retried upload
gets the first answers back and changes nothing).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

import msgspec

from hub.auth.principal import Principal
from hub.door.decide import DoorRequest
from hub.door.service import DoorService, Outcome
from hub.envelope import encode, fail_bytes, ok_envelope
from hub.errors import HubError, Invalid
from hub.http import decode

log = logging.getLogger("rollcall.door")

MAX_ACTIONS = 500


class BatchAction(DoorRequest, kw_only=True):
    """One door action of a batch: ``action`` and the fields of ``/checkin`` or
    ``/checkout``. ``decided`` is what an offline door decided itself (``ok`` or a refusal's
    reason): when the hub judges the action differently, it is listed for staff to review."""

    action: Literal["checkin", "checkout"]
    decided: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class BatchIn(msgspec.Struct):
    """The body as read: each action is decoded on its own, so a malformed one is answered
    alone (422 naming ``actions[n].field``) and the others still go through."""

    actions: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=MAX_ACTIONS)]


class BatchDoc(msgspec.Struct):
    """The body as documented (OpenAPI)."""

    actions: Annotated[list[BatchAction], msgspec.Meta(max_length=MAX_ACTIONS)]


class BatchOut(msgspec.Struct):
    """Each action's answer, in order: the envelope the single endpoint would give
    (``code`` is its HTTP status)."""

    results: list[dict[str, Any]]


def parse(raw: msgspec.Raw, n: int) -> BatchAction:
    """One action of the batch; an Invalid naming ``actions[n].field``."""
    try:
        return decode(bytes(raw), BatchAction)
    except Invalid as exc:
        where = f"actions[{n}]" if exc.field == "body" else f"actions[{n}].{exc.field}"
        raise Invalid(where, exc.message.split(": ", 1)[-1]) from None


async def run(door: DoorService, principal: Principal, session_id: str,
              actions: list[BatchAction | HubError]) -> list[Outcome]:
    """Queue every action on the door in order, then wait for them all."""

    async def one(a: BatchAction | HubError) -> bytes:
        if isinstance(a, HubError):
            raise a
        return await door.submit(principal, session_id, a.action, a)

    # Tasks start in the order they are created, and ``submit`` queues its request before it
    # first waits: the door sees the actions in the batch's order.
    tasks = [asyncio.ensure_future(one(a)) for a in actions]
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def envelope_of(outcome: Outcome) -> bytes:
    """The envelope the single endpoint would answer with."""
    if isinstance(outcome, bytes):
        return ok_envelope(outcome)
    if isinstance(outcome, HubError):
        return fail_bytes(outcome)
    if not isinstance(outcome, Exception):
        raise outcome
    log.error("door action in a batch failed", exc_info=outcome)
    return encode({"status": "error", "code": "500", "message": "Internal server error.",
                   "reason": "internal"})
