"""Settings, read once from the environment and never changed under the app.

This is the only module that reads ``ROLLCALL_*`` variables: ``load_settings`` builds every
setting, the real-time hub's tunables included, and refuses a bad value with ConfigError (one
line for the operator). Tests build ``Settings`` directly and may pass ``ROLLCALL_WS_*``
values in ``extra``; ``realtime_config`` applies them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from storage.engine import DatabaseURL, storage_url

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """A configuration value is unusable. The message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    database: DatabaseURL
    redis_url: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    secret_key: str | None = None
    channel_prefix: str = "rollcall"
    idempotency_days: int = 7
    # A scan's own ``timestamp`` may be this many hours before the start of its session's day
    # (hub.domain.rules.earliest_scan); 0: from the day's start.
    late_scan_hours: int = 24
    # Live dashboards: deltas of one session arriving within ``ws_flush_s`` go out as one
    # ``batch`` frame; an out-of-order event waits ``ws_gap_grace_s`` for the missing ones.
    ws_flush_s: float = 0.025
    ws_gap_grace_s: float = 0.15
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (hub.http.ClientAddress);
    # none by default: the peer's address is the client's.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # Addresses that may read ``GET /metrics`` without signing in (``ROLLCALL_METRICS_ALLOW``);
    # anyone else needs an admin's sign-in or an API key.
    metrics_allow: tuple[IPNetwork, ...] = ()
    # The other ``ROLLCALL_WS_*`` tunables, as read from the environment.
    realtime_env: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RealtimeConfig:
    """The real-time hub's tunables (``ROLLCALL_WS_*``; tests shorten the intervals)."""

    ping_s: float = 20.0  # a JSON ``ping`` frame this often
    dead_s: float = 40.0  # no frame from the client this long: closed (4000)
    queue_bytes: int = 1024 * 1024  # per-connection send queue bound: past it, 4008
    counts_hz: float = 4.0  # ``counts`` frames per channel per second, at most
    history_limit: int = 1000  # a resume missing more than this gets a fresh snapshot
    snapshot_records: int = 50  # records in a snapshot
    auth_timeout_s: float = 10.0  # first-message auth must arrive this soon
    gap_grace_s: float = 0.15  # an out-of-order event waits this long for the missing ones
    flush_s: float = 0.025  # deltas of a channel within this window go out as one batch frame
    degraded_poll_s: float = 1.0  # while the broker is away, catch up from the log this often
    # The kernel's send buffer per socket (0: the kernel's own autotuning, up to 4 MiB on
    # Linux, which hides a stalled client for a long time).
    socket_sndbuf: int = 64 * 1024
    fanout_batch: int = 500  # connections served between two yields to the event loop

    @property
    def counts_interval(self) -> float:
        return 1.0 / self.counts_hz if self.counts_hz > 0 else 0.0


_WS_FIELDS: dict[str, tuple[str, type]] = {
    "ROLLCALL_WS_PING_S": ("ping_s", float),
    "ROLLCALL_WS_DEAD_S": ("dead_s", float),
    "ROLLCALL_WS_QUEUE_BYTES": ("queue_bytes", int),
    "ROLLCALL_WS_COUNTS_HZ": ("counts_hz", float),
    "ROLLCALL_WS_HISTORY_LIMIT": ("history_limit", int),
    "ROLLCALL_WS_AUTH_TIMEOUT_S": ("auth_timeout_s", float),
    "ROLLCALL_WS_DEGRADED_POLL_S": ("degraded_poll_s", float),
    "ROLLCALL_WS_SNDBUF": ("socket_sndbuf", int),
}
# Validated like the other durations (0 is allowed: no batching, no grace).
_WS_SECONDS: dict[str, tuple[str, float]] = {
    "ROLLCALL_WS_FLUSH_S": ("flush_s", 1.0),
    "ROLLCALL_WS_GAP_GRACE_S": ("gap_grace_s", 10.0),
}


def realtime_config(settings: Settings) -> RealtimeConfig:
    """The real-time tunables of ``settings``: what the environment said, with the values
    in ``settings.extra`` winning. Raises ConfigError on a bad value."""
    values: dict[str, float | int] = {
        "flush_s": settings.ws_flush_s, "gap_grace_s": settings.ws_gap_grace_s}
    for name, (attr, high) in _WS_SECONDS.items():
        raw = settings.extra.get(name)
        if raw:
            values[attr] = seconds_setting({name: raw}, name, 0.0, low=0.0, high=high)
    for name, (attr, kind) in _WS_FIELDS.items():
        raw = settings.extra.get(name) or settings.realtime_env.get(name)
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {raw!r} is not a number") from exc
        if value < 0 or (value == 0 and attr != "socket_sndbuf"):
            raise ConfigError(f"{name}: must be greater than 0")
        values[attr] = value
    cfg = RealtimeConfig(**values)  # type: ignore[arg-type]
    if cfg.dead_s <= cfg.ping_s:
        raise ConfigError("ROLLCALL_WS_DEAD_S must be longer than ROLLCALL_WS_PING_S")
    return cfg


def parse_database_url(raw: str) -> DatabaseURL:
    """``ROLLCALL_DATABASE_URL`` read: ConfigError with the operator's one line."""
    try:
        return storage_url(raw)
    except ValueError as exc:
        raise ConfigError(f"ROLLCALL_DATABASE_URL: {exc}") from None


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
    if not (days_raw.isascii() and days_raw.isdigit()) or not 1 <= int(days_raw) <= 3650:
        raise ConfigError(
            f"ROLLCALL_IDEMPOTENCY_DAYS: {days_raw!r} is not a whole number of days (1-3650)")

    late_raw = (env.get("ROLLCALL_LATE_SCAN_HOURS") or "24").strip()
    if not (late_raw.isascii() and late_raw.isdigit()) or not 0 <= int(late_raw) <= 8760:
        raise ConfigError(
            f"ROLLCALL_LATE_SCAN_HOURS: {late_raw!r} is not a whole number of hours (0-8760)")

    ws_flush_s = seconds_setting(env, "ROLLCALL_WS_FLUSH_S", 0.025, low=0.0, high=1.0)
    ws_gap_grace_s = seconds_setting(env, "ROLLCALL_WS_GAP_GRACE_S", 0.15, low=0.0, high=10.0)
    trusted_proxies = parse_trusted_proxies(env.get("ROLLCALL_TRUSTED_PROXIES") or "")
    metrics_allow = parse_networks("ROLLCALL_METRICS_ALLOW",
                                   env.get("ROLLCALL_METRICS_ALLOW") or "")

    settings = Settings(
        database=database,
        redis_url=redis_url,
        public_url=public_url,
        secret_key=secret,
        channel_prefix=prefix,
        idempotency_days=int(days_raw),
        late_scan_hours=int(late_raw),
        ws_flush_s=ws_flush_s,
        ws_gap_grace_s=ws_gap_grace_s,
        trusted_proxies=trusted_proxies,
        metrics_allow=metrics_allow,
        realtime_env={k: v for k, v in env.items() if k in _WS_FIELDS},
    )
    realtime_config(settings)  # a bad ROLLCALL_WS_* value stops start-up here
    return settings


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


def parse_trusted_proxies(raw: str) -> tuple[IPNetwork, ...]:
    """``ROLLCALL_TRUSTED_PROXIES``: addresses or CIDR networks, separated by commas or
    spaces (``10.0.0.5, 172.28.0.0/16, ::1``); empty: none."""
    return parse_networks("ROLLCALL_TRUSTED_PROXIES", raw)


def parse_networks(name: str, raw: str) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks, separated by commas or spaces; empty: none."""
    out: list[IPNetwork] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP address or network "
                "(for example 10.0.0.5 or 172.28.0.0/16)") from None
    return tuple(out)
