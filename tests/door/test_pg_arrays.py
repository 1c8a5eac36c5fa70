"""The door's PostgreSQL arrays are sent as one text literal each: every value comes back
as it went, quotes, backslashes, braces, commas, NULL-looking text and bytes included."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from hub.config import DatabaseURL
from storage.door import pg_array
from storage.engine import make_engine

TEXTS = ['plain', 'a "quoted" word', "back\\slash", "{braces}, commas", "NULL", "", " sp ",
         "ünïcode ✓", "new\nline", None]
BYTES = [b"", b"\x00\xff\\\"{}", b'{"ok":true}', None]
TIMES = [dt.datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=dt.UTC),
         dt.datetime(2026, 6, 1, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-7))), None]


def roundtrip(db: DatabaseURL, literal: str, kind: str) -> list[Any]:
    async def go() -> list[Any]:
        engine = make_engine(db)
        try:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                pg: Any = raw.driver_connection
                cur = await pg.execute(f"SELECT %(a)s::{kind}[]", {"a": literal})
                row = await cur.fetchone()
                return list(row[0])
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_every_kind_comes_back_as_it_went(pg_db: DatabaseURL) -> None:
    assert roundtrip(pg_db, pg_array(TEXTS, "text"), "text") == TEXTS
    assert roundtrip(pg_db, pg_array(BYTES, "bytea"), "bytea") == BYTES
    assert roundtrip(pg_db, pg_array(TIMES, "timestamptz"), "timestamptz") == TIMES
    assert roundtrip(pg_db, pg_array([1, None, -3, 2**40], "bigint"), "bigint") == [
        1, None, -3, 2**40]
    assert roundtrip(pg_db, pg_array([True, False, None], "bool"), "bool") == [
        True, False, None]
    assert roundtrip(pg_db, pg_array([], "int"), "int") == []
