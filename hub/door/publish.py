"""Publish only after commit: the database is the truth, and dashboards catch up from it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.events import Encoded, EventSink
from storage.engine import Database

T = TypeVar("T")

log = logging.getLogger("rollcall.events")


async def session_changed_after_commit(sink: EventSink, session_id: str) -> None:
    """Tell dashboards a session's settings changed; log and go on if that fails."""
    try:
        await sink.session_changed(session_id)
    except Exception:  # noqa: BLE001 - the next event or reconnect brings the new values
        log.exception("announcing the change of session %s failed", session_id)


async def engagement_changed_after_commit(sink: EventSink, session_id: str, what: str) -> None:
    """Tell live views a session's polls, questions or evaluation changed; log and go on if
    that fails (the next change or a reconnect brings the state)."""
    try:
        await sink.engagement_changed(session_id, what)
    except Exception:  # noqa: BLE001
        log.exception("announcing the %s change of session %s failed", what, session_id)


async def engagement_work(db: Database, sink: EventSink, session_id: str, what: str,
                          work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run a change of a session's polls, questions or evaluation in one transaction, then
    tell live views (``engagement_changed_after_commit``)."""
    out = await db.run(work)
    await engagement_changed_after_commit(sink, session_id, what)
    return out


async def publish_after_commit(sink: EventSink, events: Sequence[Encoded]) -> None:
    """Publish committed events; log and go on if that fails (the database is the truth)."""
    if not events:
        return
    try:
        await sink.publish_events(events)
    except Exception:  # noqa: BLE001 - dashboards catch up from the log
        log.exception("publishing %d event(s) failed; dashboards will catch up", len(events))
