"""Engines and migrations.

SQLite runs in WAL mode behind one connection per process, every transaction begun with
``BEGIN IMMEDIATE`` so that the writer is chosen at the start, not at the first write (no
"database is locked" half way through a check-in). PostgreSQL uses psycopg 3 with a pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.config import DatabaseURL

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(db: DatabaseURL, *, pool_size: int = 10) -> AsyncEngine:
    """The hub's async engine for ``db``."""
    if db.is_sqlite:
        engine = create_async_engine(db.async_url, pool_size=1, max_overflow=0, pool_timeout=30)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        db.async_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


T = TypeVar("T")


def run_in_tx(db: DatabaseURL, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``fn`` in one committed transaction on a private engine, from synchronous code
    (the command line, test set-up)."""

    async def go() -> T:
        engine = make_engine(db)
        try:
            async with engine.begin() as conn:
                return await fn(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def make_sync_engine(db: DatabaseURL) -> sa.Engine:
    """A plain engine for migrations and command-line tools."""
    if db.is_sqlite:
        engine = sa.create_engine(db.sync_url)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return sa.create_engine(db.sync_url, pool_pre_ping=True)


def alembic_config(db: DatabaseURL) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.sync_url.replace("%", "%%"))
    return cfg


def migrate(db: DatabaseURL) -> None:
    """Bring the schema up to date (idempotent; safe from several workers at once on PG)."""
    engine = make_sync_engine(db)
    try:
        with engine.begin() as conn:
            if not db.is_sqlite:
                # Serialise concurrent migrators (several workers starting together).
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74211)")
            cfg = alembic_config(db)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
