"""Fixtures: real PostgreSQL and Redis (see tests/services.py), a fresh schema per test, an
app driven through HTTP, and real hub processes when a test needs them."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.app import create_app
from hub.config import DatabaseURL, Settings, parse_database_url
from storage.engine import make_engine, migrate
from storage.tables import metadata
from tests.livehub import LiveHub, start_hub
from tests.servers import (
    Started,
    create_database,
    drop_database,
    find_postgres,
    find_redis,
)

SECRET = "test-secret-key-0123456789"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session")
def _started() -> Iterator[Started]:
    started = Started()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def pg_server(_started: Started) -> str:
    url = find_postgres(_started)
    if url is None:
        from tests.servers import unavailable

        unavailable("PostgreSQL", "none at ROLLCALL_TEST_DATABASE_URL or 127.0.0.1:5432, and "
                    "no initdb/postgres binaries to start one")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[DatabaseURL]:
    """A fresh database for this test run, migrated once, dropped at the end."""
    url = create_database(pg_server)
    db = parse_database_url(url)
    migrate(db)
    yield db
    drop_database(pg_server, url)


@pytest.fixture(scope="session")
def redis_url(_started: Started) -> str:
    url = find_redis(_started)
    if url is None:
        from tests.servers import unavailable

        unavailable("Redis", "none at ROLLCALL_TEST_REDIS_URL or 127.0.0.1:6379, and no "
                    "redis-server binary to start one")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """A key/channel prefix unique to this test run."""
    return f"rollcall-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def redis_run(redis_url: str, run_prefix: str) -> Iterator[tuple[str, str]]:
    yield redis_url, run_prefix
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{run_prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(parse_database_url(f"sqlite:///{path}"))
    return path


def _truncate(db: DatabaseURL) -> None:
    async def go() -> None:
        engine = make_engine(db)
        try:
            async with engine.begin() as conn:
                names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseURL:
    """An empty, migrated database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "rollcall.db"
        shutil.copy(template, path)
        return parse_database_url(f"sqlite:///{path}")
    pg: DatabaseURL = request.getfixturevalue("pg_database")
    _truncate(pg)
    return pg


@pytest.fixture
def pg_db(pg_database: DatabaseURL) -> DatabaseURL:
    """PostgreSQL only (races across processes)."""
    _truncate(pg_database)
    return pg_database


@pytest.fixture
def settings(db: DatabaseURL) -> Settings:
    return Settings(database=db, public_url="http://testserver", secret_key=SECRET)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _run_sync(coro_factory: Callable[..., object], *args: object) -> object:
    return asyncio.run(coro_factory(*args))  # type: ignore[arg-type]


@pytest.fixture
def api_key(settings: Settings) -> str:
    from hub.auth.accounts import create_api_key

    async def go() -> str:
        engine = make_engine(settings.database)
        try:
            async with engine.begin() as conn:
                _, key = await create_api_key(conn, description="tests")
                return key
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def api(client: TestClient, api_key: str) -> TestClient:
    """The test client, authenticated with an API key."""
    client.headers["API-Key"] = api_key
    return client


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def hub_env(settings: Settings) -> dict[str, str]:
    """Environment for a real hub process on this test's database."""
    db = settings.database
    raw = db.display if db.is_sqlite else db.sync_url.replace("postgresql+psycopg", "postgresql")
    return {
        "ROLLCALL_DATABASE_URL": raw,
        "ROLLCALL_SECRET_KEY": SECRET,
        "ROLLCALL_PUBLIC_URL": "http://testserver",
        "ROLLCALL_REDIS_URL": "",
    }


@pytest.fixture
def live_hubs(tmp_path: Path) -> Iterator[Callable[..., LiveHub]]:
    """Start real hub processes: ``live_hubs(env, workers=1)``; all stopped afterwards."""
    hubs: list[LiveHub] = []

    def start(env: dict[str, str], **kw: object) -> LiveHub:
        hub = start_hub(env, tmp_path, **kw)  # type: ignore[arg-type]
        hubs.append(hub)
        return hub

    yield start
    for h in hubs:
        h.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"ROLLCALL_REQUIRE_SERVICES={os.environ.get('ROLLCALL_REQUIRE_SERVICES', '')}"]
