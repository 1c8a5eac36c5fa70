"""Staff and kiosk cookies for tests that sign a browser in without its password: the cookie
must name a live sign-in, so one is recorded as a real sign-in would."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.auth.accounts import open_login
from hub.config import DatabaseURL
from storage import accounts
from storage.engine import make_engine


def signed_in(db: DatabaseURL, staff_id: int, session: str | None = None) -> dict[str, Any]:
    """The payload of a staff cookie (or, with ``session``, a kiosk cookie) for a new sign-in
    of ``staff_id``."""

    async def go() -> str:
        engine = make_engine(db)
        try:
            async with engine.begin() as conn:
                row = await accounts.staff_by_id(conn, staff_id)
                return await open_login(conn, row, kiosk_session=session)
        finally:
            await engine.dispose()

    payload: dict[str, Any] = {"sid": staff_id, "lid": asyncio.run(go())}
    if session is not None:
        payload["session"] = session
    return payload
