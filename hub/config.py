"""Settings, read once from the environment and never changed under the app."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class ConfigError(Exception):
    """A configuration value is unusable. The message is one line for the operator."""


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


@dataclass(frozen=True)
class Settings:
    database: DatabaseURL
    redis_url: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    secret_key: str | None = None
    channel_prefix: str = "rollcall"
    idempotency_days: int = 7
    # Live dashboards: deltas of one session arriving within ``ws_flush_s`` go out as one
    # ``batch`` frame; an out-of-order event waits ``ws_gap_grace_s`` for the missing ones.
    ws_flush_s: float = 0.025
    ws_gap_grace_s: float = 0.15
    extra: Mapping[str, str] = field(default_factory=dict)


def parse_database_url(raw: str) -> DatabaseURL:
    """Accept ``sqlite:///path`` and ``postgresql://user@host:port/db``; pick the drivers."""
    raw = raw.strip()
    if raw.startswith("sqlite:"):
        m = re.fullmatch(r"sqlite(?:\+\w+)?:///(.*)", raw)
        if not m or not m.group(1):
            raise ConfigError(
                f"ROLLCALL_DATABASE_URL: {raw!r} is not a SQLite URL of the form sqlite:///path"
            )
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
            raise ConfigError(f"ROLLCALL_DATABASE_URL: {raw!r} names no host or database")
        rest = raw.split("://", 1)[1]
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"ROLLCALL_DATABASE_URL: bad port in {raw!r}") from exc
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
    raise ConfigError(
        f"ROLLCALL_DATABASE_URL: unsupported scheme {parts.scheme or raw!r}; "
        "use sqlite:///path or postgresql://user@host:port/db"
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ROLLCALL_* variables. Raises ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    db_raw = env.get("ROLLCALL_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'rollcall.db'}"
    database = parse_database_url(db_raw)

    redis_url = env.get("ROLLCALL_REDIS_URL") or None
    if redis_url is not None:
        scheme = urlsplit(redis_url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"ROLLCALL_REDIS_URL: {redis_url!r} is not a redis:// or rediss:// URL"
            )

    public_url = (env.get("ROLLCALL_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")
    pu = urlsplit(public_url)
    if pu.scheme not in ("http", "https") or not pu.netloc:
        raise ConfigError(
            f"ROLLCALL_PUBLIC_URL: {public_url!r} is not an http:// or https:// URL"
        )

    secret = env.get("ROLLCALL_SECRET_KEY") or None
    if secret is not None and len(secret) < 16:
        raise ConfigError("ROLLCALL_SECRET_KEY: use at least 16 characters")

    prefix = env.get("ROLLCALL_CHANNEL_PREFIX") or "rollcall"
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", prefix):
        raise ConfigError(f"ROLLCALL_CHANNEL_PREFIX: {prefix!r} has characters Redis keys avoid")

    days_raw = (env.get("ROLLCALL_IDEMPOTENCY_DAYS") or "7").strip()
    if not days_raw.isdigit() or not 1 <= int(days_raw) <= 3650:
        raise ConfigError(
            f"ROLLCALL_IDEMPOTENCY_DAYS: {days_raw!r} is not a whole number of days (1-3650)")

    ws_flush_s = seconds_setting(env, "ROLLCALL_WS_FLUSH_S", 0.025, low=0.0, high=1.0)
    ws_gap_grace_s = seconds_setting(env, "ROLLCALL_WS_GAP_GRACE_S", 0.15, low=0.0, high=10.0)

    return Settings(
        database=database,
        redis_url=redis_url,
        public_url=public_url,
        secret_key=secret,
        channel_prefix=prefix,
        idempotency_days=int(days_raw),
        ws_flush_s=ws_flush_s,
        ws_gap_grace_s=ws_gap_grace_s,
    )


def seconds_setting(env: Mapping[str, str], name: str, default: float, *, low: float,
             high: float) -> float:
    """A duration in seconds from ``name``: a number in [low, high] (e.g. ``0.025``)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also refuses nan and inf
        raise ConfigError(f"{name}: {raw!r} is not a number of seconds from {low:g} to {high:g}")
    return value
