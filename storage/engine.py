"""Database URLs, engines, transactions and migrations. Imports nothing from the hub.

SQLite runs in WAL mode behind one connection per process, every transaction begun with
``BEGIN IMMEDIATE`` so that the writer is chosen at the start, not at the first write (no
"database is locked" half way through a check-in). PostgreSQL uses psycopg 3 with a pool.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import psycopg.errors
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("rollcall.storage")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class DatabaseURL:
    """A database location, with the drivers Rollcall chooses for it."""

    dialect: str  # "sqlite" or "postgresql"
    async_url: str
    sync_url: str
    display: str  # safe to print: no password

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"


def storage_url(raw: str) -> DatabaseURL:
    """Accept ``sqlite:///path`` and ``postgresql://user@host:port/db``; pick the drivers.
    Raises ValueError with the problem in words."""
    raw = raw.strip()
    if raw.startswith("sqlite:"):
        m = re.fullmatch(r"sqlite(?:\+\w+)?:///(.*)", raw)
        if not m or not m.group(1):
            raise ValueError(f"{raw!r} is not a SQLite URL of the form sqlite:///path")
        path = m.group(1)
        if path != ":memory:":
            path = str(Path(path).expanduser())
        return DatabaseURL(
            dialect="sqlite",
            async_url=f"sqlite+aiosqlite:///{path}",
            sync_url=f"sqlite:///{path}",
            display=f"sqlite:///{path}",
        )
    parts = urlsplit(raw)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme in ("postgresql", "postgres"):
        if not parts.hostname and not parts.path.strip("/"):
            raise ValueError(f"{raw!r} names no host or database")
        rest = raw.split("://", 1)[1]
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port in {raw!r}") from exc
        netloc_display = parts.hostname or ""
        if port:
            netloc_display += f":{port}"
        user = f"{parts.username}@" if parts.username else ""
        return DatabaseURL(
            dialect="postgresql",
            async_url=f"postgresql+psycopg://{rest}",
            sync_url=f"postgresql+psycopg://{rest}",
            display=f"postgresql://{user}{netloc_display}{parts.path}",
        )
    raise ValueError(
        f"unsupported scheme {parts.scheme or raw!r}; "
        "use sqlite:///path or postgresql://user@host:port/db"
    )


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
    engine = create_async_engine(
        db.async_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )
    sa.event.listen(engine.sync_engine.pool, "checkin", _note_idle)
    sa.event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled connection idle this long is pinged before use (a round trip); one used more
# recently is not: under load every connection is back in use within milliseconds, and the
# ping would be a round trip per transaction. A connection that broke meanwhile fails its
# transaction, and ``Database.run`` runs that again on a fresh one.
IDLE_PING_S = 2.0


def _note_idle(dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_S:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as exc:  # noqa: BLE001 - any failure: the pool opens a fresh one
        raise sa.exc.DisconnectionError(f"a pooled connection is gone: {exc}") from exc


T = TypeVar("T")

# Deadlock and serialization failures (PostgreSQL) are safe to retry: nothing was committed.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


# A server going away: admin_shutdown (a restart), crash_shutdown, cannot_connect_now.
_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def connection_lost(exc: BaseException) -> bool:
    """The database could not be reached, or the connection dropped under the transaction
    (PostgreSQL restarting, a network cut): nothing of it was committed, and running it again
    at once would only fail again. Looks through SQLAlchemy's wrapper and the exception's
    causes; SQLite's errors (a locked file is not a lost server) never count."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        orig = e.orig if isinstance(e, DBAPIError) else e
        if (isinstance(orig, psycopg.OperationalError)
                and not isinstance(orig, psycopg.errors.PipelineAborted)):
            state = orig.sqlstate
            if state is None or state.startswith("08") or state in _GONE_SQLSTATES:
                return True
        e = e.__cause__ or e.__context__
    return False


# What the database drivers raise (SQLAlchemy's wrapper; psycopg's own, from the door's
# PostgreSQL store): the app answers these itself (``hub.app``).
DRIVER_ERRORS: tuple[type[Exception], ...] = (DBAPIError, psycopg.Error)


def retryable(exc: DBAPIError) -> bool:
    """A lost race (unique violation, deadlock, serialization failure): run it again."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


class Database:
    """The hub's engine and its transactions: ``tx`` (committed on normal exit, rolled back
    on any exception), ``read`` (no transaction promised) and ``run`` (a transaction run
    again from the start after a lost race)."""

    def __init__(self, engine: AsyncEngine, url: DatabaseURL) -> None:
        self.engine = engine
        self.url = url

    @property
    def dialect(self) -> str:
        return self.url.dialect

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]],
                  attempts: int = 3) -> T:
        """Run ``work`` in a transaction, again (from the start) after a lost race or on a
        fresh connection after the one it had turned out broken."""
        for attempt in range(attempts):
            try:
                async with self.tx() as conn:
                    return await work(conn)
            except DBAPIError as exc:
                if attempt + 1 >= attempts or not (retryable(exc) or exc.connection_invalidated):
                    raise
                log.info("retrying after %s", type(exc.orig).__name__)
        raise RuntimeError("unreachable")

    async def ping(self) -> None:
        """One round trip; raises when the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def open_database(url: DatabaseURL) -> Database:
    return Database(make_engine(url), url)


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
