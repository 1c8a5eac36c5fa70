"""The hub's Prometheus metrics: defined once here, counted where things happen, and read
by ``GET /metrics`` (``hub.monitoring``).

Under ``rollcall serve --workers N`` every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``rollcall serve``; prometheus_client's multiprocess
mode), and whichever worker answers ``/metrics`` sums them all. One process alone (tests,
``--workers 1``) keeps them in memory.

Cheap on the hot path: a histogram's observation (a door request, a batch, a wait) is kept
in plain numbers by a ``Tally`` (a bisect and two additions) and added to the metric when
``flush`` runs: once a second, and before every scrape (``hub.monitoring``'s sampler). A
metric's own ``observe`` takes a lock and writes a shared-memory file twice, 10-20 times the
cost. What is already counted elsewhere (frames, closes, reconnects) or is a level (queue
depth, connections, pool use) is copied in by the same sampler, so fan-out to thousands of
sockets costs nothing extra.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _mp

# Decided when this module is first imported, as prometheus_client decides it.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

DOOR_SECONDS = Histogram(
    "rollcall_door_request_seconds",
    "Door requests (check-in and check-out) from the handler's start to the answer, by "
    "action and outcome (ok, or the refusal's reason).",
    ["action", "outcome"], buckets=_LATENCY_BUCKETS)
DOOR_BATCH = Histogram(
    "rollcall_door_batch_size", "Door requests settled by one transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64))
DOOR_LOCK_WAIT = Histogram(
    "rollcall_door_lock_wait_seconds",
    "Time a door batch waited for its session's counter row (the lock shared by every "
    "worker).", buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
DOOR_WAITING = Gauge(
    "rollcall_door_waiting", "Door requests queued or being settled (sampled each second).",
    multiprocess_mode="livesum")
UNAVAILABLE = Counter(
    "rollcall_unavailable_total", "Requests answered 503, by reason.", ["reason"])

WS_CONNECTIONS = Gauge(
    "rollcall_ws_connections", "Open WebSocket connections by channel type (dashboard, "
    "attendee, event; sampled each second).", ["kind"], multiprocess_mode="livesum")
WS_QUEUED_BYTES = Gauge(
    "rollcall_ws_queued_bytes", "Bytes waiting in WebSocket send queues (slow readers).",
    multiprocess_mode="livesum")
WS_FRAMES = Counter("rollcall_ws_frames_total", "Frames written to dashboards.")
WS_DELIVERIES = Counter(
    "rollcall_ws_deliveries_total", "Check-in and check-out events delivered to dashboards "
    "(one event to one dashboard counts one).")
WS_CLOSED = Counter(
    "rollcall_ws_closed_total", "Connections closed by the hub: too_slow (4008, the send "
    "queue was full) or no_heartbeat (4000).", ["reason"])

BROKER_LAG = Histogram(
    "rollcall_broker_publish_lag_seconds",
    "From an event's publication by a worker to Redis accepting it (the oldest message of "
    "each pipelined write).", buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25, 1.0, 5.0))
BROKER_RECONNECTS = Counter(
    "rollcall_broker_reconnects_total", "Times a worker's Redis subscription came back.")
BROKER_DROPPED = Counter(
    "rollcall_broker_dropped_total", "Messages dropped from a full outbox while Redis was "
    "away.")
BROKER_LIVE = Gauge(
    "rollcall_broker_live", "1 while every worker's broker is live (0 if any is not).",
    multiprocess_mode="livemin")

DB_POOL_IN_USE = Gauge(
    "rollcall_db_pool_in_use", "Database connections checked out of the pools.",
    multiprocess_mode="livesum")
DB_POOL_OPEN = Gauge(
    "rollcall_db_pool_open", "Database connections open in the pools (idle or in use).",
    multiprocess_mode="livesum")
DB_POOL_OVERFLOW = Gauge(
    "rollcall_db_pool_overflow", "Connections open beyond the pools' base size.",
    multiprocess_mode="livesum")

class Tally:
    """Observations of one histogram (or one labelled child of it), kept in plain numbers
    until ``flush`` adds them to it. Used from the event loop's thread only."""

    __slots__ = ("child", "bounds", "counts", "total", "dirty")

    def __init__(self, child: Any) -> None:
        self.child = child
        # prometheus_client's own bounds and per-bucket values (as ``observe`` uses them).
        self.bounds: list[float] = list(child._upper_bounds)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0
        self.dirty = False
        _tallies.append(self)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.dirty = True

    def flush(self) -> None:
        if not self.dirty:
            return
        buckets = self.child._buckets
        for i, n in enumerate(self.counts):
            if n:
                buckets[i].inc(n)
                self.counts[i] = 0
        self.child._sum.inc(self.total)
        self.total = 0.0
        self.dirty = False


_tallies: list[Tally] = []
_door: dict[tuple[str, str], Tally] = {}

BATCH = Tally(DOOR_BATCH)
LOCK_WAIT = Tally(DOOR_LOCK_WAIT)
PUBLISH_LAG = Tally(BROKER_LAG)


def door_answered(action: str, outcome: str, started: float) -> None:
    """Count one door request that began at ``started`` (``time.perf_counter()``)."""
    tally = _door.get((action, outcome))
    if tally is None:
        tally = _door[(action, outcome)] = Tally(DOOR_SECONDS.labels(action, outcome))
    tally.observe(time.perf_counter() - started)


def flush() -> None:
    """Add what the tallies hold to the metrics."""
    for tally in _tallies:
        tally.flush()


def exposition() -> tuple[bytes, str]:
    """Every worker's metrics in the text format, and its content type."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        _mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """A worker stops: its live gauges stop counting (its counters stay)."""
    if MULTIPROCESS:
        _mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]
