"""Direct database access for API tests: rows the API cannot write (polls, evaluations...)
and checks that a refused request wrote nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from storage.engine import run_in_tx

T = TypeVar("T")


def in_db(settings: Settings, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``fn`` in one committed transaction on the test's database."""
    return run_in_tx(settings.database, fn)


def insert(settings: Settings, table: sa.Table, **values: Any) -> Any:
    """Insert one row; return its primary key."""

    async def go(conn: AsyncConnection) -> Any:
        result = await conn.execute(sa.insert(table).values(**values))
        return result.inserted_primary_key[0]

    return in_db(settings, go)


def count(settings: Settings, table: sa.Table) -> int:
    async def go(conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table)))
                   .scalar_one())

    return in_db(settings, go)
