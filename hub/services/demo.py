"""The demo event (``rollcall demo``): its data, an admin login and an API key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.accounts import create_api_key, create_staff
from storage import accounts
from storage.demo import demo_present, seed

ADMIN_EMAIL = "admin@example.com"


@dataclass
class DemoResult:
    created: bool
    admin_email: str
    admin_password: str | None
    api_key: str | None
    sessions: int
    attendees: int


async def load_demo(conn: AsyncConnection, *, attendees: int = 300) -> DemoResult:
    """Load the demo event. Safe to run twice: a second run changes nothing."""
    existing, n_att = await demo_present(conn)
    if existing:
        return DemoResult(False, ADMIN_EMAIL, None, None, existing, n_att)
    n_sessions, n_people = await seed(conn, attendees=attendees)
    password: str | None = None
    if await accounts.staff_by_email(conn, ADMIN_EMAIL) is None:
        password = secrets.token_urlsafe(9)
        await create_staff(
            conn, email=ADMIN_EMAIL, password=password,
            permissions=["scan", "override", "moderate", "admin"], name="Demo Admin",
        )
    _, key = await create_api_key(conn, description="demo")
    return DemoResult(True, ADMIN_EMAIL, password, key, n_sessions, n_people)
