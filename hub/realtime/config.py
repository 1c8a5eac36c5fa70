"""The real-time hub's tunables, read once at start-up.

Each has a ``ROLLCALL_WS_*`` environment variable (tests shorten the intervals); a value in
``Settings.extra`` under the same name wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hub.config import ConfigError, Settings, seconds_setting


@dataclass(frozen=True)
class RealtimeConfig:
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


_FIELDS: dict[str, tuple[str, type]] = {
    "ROLLCALL_WS_PING_S": ("ping_s", float),
    "ROLLCALL_WS_DEAD_S": ("dead_s", float),
    "ROLLCALL_WS_QUEUE_BYTES": ("queue_bytes", int),
    "ROLLCALL_WS_COUNTS_HZ": ("counts_hz", float),
    "ROLLCALL_WS_HISTORY_LIMIT": ("history_limit", int),
    "ROLLCALL_WS_AUTH_TIMEOUT_S": ("auth_timeout_s", float),
    "ROLLCALL_WS_DEGRADED_POLL_S": ("degraded_poll_s", float),
    "ROLLCALL_WS_SNDBUF": ("socket_sndbuf", int),
}
# Validated with the other settings in hub/config.py (0 is allowed: no batching, no grace).
_SECONDS: dict[str, tuple[str, float]] = {
    "ROLLCALL_WS_FLUSH_S": ("flush_s", 1.0),
    "ROLLCALL_WS_GAP_GRACE_S": ("gap_grace_s", 10.0),
}


def load_realtime_config(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> RealtimeConfig:
    env = os.environ if environ is None else environ
    values: dict[str, float | int] = {
        "flush_s": settings.ws_flush_s, "gap_grace_s": settings.ws_gap_grace_s}
    for name, (attr, high) in _SECONDS.items():
        raw = settings.extra.get(name)
        if raw:  # tests shorten or lengthen these per app
            values[attr] = seconds_setting({name: raw}, name, 0.0, low=0.0, high=high)
    for name, (attr, kind) in _FIELDS.items():
        raw = settings.extra.get(name) or env.get(name)
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
