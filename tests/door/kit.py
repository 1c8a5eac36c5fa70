"""Small factories for attendance tests: sessions, attendees and registrations written straight
to the database (the API under test is the door, not these)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import DatabaseURL
from hub.domain.dates import now
from storage.engine import run_in_tx
from storage.sessions import insert_session
from storage.tables import (
    T_ATTENDEES,
    T_CODEWORDS,
    T_COUNTERS,
    T_FIELDS,
    T_REGISTRATIONS,
)

T = TypeVar("T")


def run(db: DatabaseURL, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``fn`` in one transaction on a private engine."""
    return run_in_tx(db, fn)


def make_session(db: DatabaseURL, *, fields: Sequence[tuple[str, str, Sequence[str]]] = (),
                 **values: Any) -> str:
    """A session (name defaults to "Session"); ``fields`` as (name, credits, codewords)."""
    values.setdefault("name", "Session")

    async def go(conn: AsyncConnection) -> str:
        sid = await insert_session(conn, values=values)
        for pos, (name, credits, words) in enumerate(fields):
            fid = (await conn.execute(sa.insert(T_FIELDS).values(
                session_id=sid, position=pos, name=name, credits=credits,
            ).returning(T_FIELDS.c.id))).scalar_one()
            for k, word in enumerate(words):
                await conn.execute(sa.insert(T_CODEWORDS).values(field_id=fid, position=k,
                                                                 word=word))
        return sid

    return run(db, go)


def make_attendees(db: DatabaseURL, n: int, *, prefix: str = "A", register: Sequence[str] = (),
                   level: str | None = None) -> list[str]:
    """``n`` attendees with external ids A0001.. (emails a0001@example.com, badges BA0001..),
    registered for the sessions in ``register``; returns their external ids."""

    async def go(conn: AsyncConnection) -> list[str]:
        rows = []
        for i in range(1, n + 1):
            ext = f"{prefix}{i:04d}"
            rows.append(dict(
                external_id=ext, email=f"{ext.lower()}@Example.com",
                email_lower=f"{ext.lower()}@example.com", first_name=f"First{i}",
                last_name=f"Last{i}", badge_id=f"B{ext}", registration_level=level,
                created_at=now(),
            ))
        await conn.execute(sa.insert(T_ATTENDEES), rows)
        ids = [r.id for r in await conn.execute(
            sa.select(T_ATTENDEES.c.id).where(T_ATTENDEES.c.external_id.in_(
                [r["external_id"] for r in rows])))]
        for sid in register:
            await conn.execute(sa.insert(T_REGISTRATIONS), [
                dict(session_id=sid, attendee_id=aid, created_at=now()) for aid in ids
            ])
            await conn.execute(sa.update(T_COUNTERS).where(T_COUNTERS.c.session_id == sid)
                               .values(registered=T_COUNTERS.c.registered + len(ids)))
        return [str(r["external_id"]) for r in rows]

    return run(db, go)


def scalar(db: DatabaseURL, stmt: Any) -> Any:
    async def go(conn: AsyncConnection) -> Any:
        return (await conn.execute(stmt)).scalar()

    return run(db, go)


def make_staff(db: DatabaseURL, email: str, permissions: Sequence[str]) -> int:
    from hub.auth.accounts import create_staff

    async def go(conn: AsyncConnection) -> int:
        return await create_staff(conn, email=email, password="password-123",
                                  permissions=list(permissions))

    return run(db, go)


def attendee_id(db: DatabaseURL, external_id: str) -> int:
    return int(scalar(db, sa.select(T_ATTENDEES.c.id)
                      .where(T_ATTENDEES.c.external_id == external_id)))


def sign_in(client: Any, cookie: str, payload: dict[str, Any]) -> Any:
    """Make ``client`` a browser signed in with ``cookie`` (and a CSRF token to echo). A staff
    or kiosk payload without a sign-in id gets a new sign-in recorded."""
    from hub.auth.cookies import CSRF_COOKIE, CSRF_HEADER, Signer
    from tests.conftest import SECRET
    from tests.signins import signed_in

    if "sid" in payload and "lid" not in payload:
        db = client.app.state.hub.settings.database
        payload = signed_in(db, payload["sid"], payload.get("session"))

    client.headers.pop("API-Key", None)
    client.cookies.clear()
    client.cookies.set(cookie, Signer(SECRET).dumps(payload))
    client.cookies.set(CSRF_COOKIE, "csrf-token-for-tests")
    client.headers[CSRF_HEADER] = "csrf-token-for-tests"
    return client
