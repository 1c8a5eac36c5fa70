"""``GET /metrics`` and the sampler that keeps this worker's levels in the metrics.

``/metrics`` answers in the Prometheus text format, with every worker's figures summed
(``hub.metrics``). Who may read it: a client from ``ROLLCALL_METRICS_ALLOW`` (the address
``hub.http.ClientAddress`` settled, so behind a trusted proxy the real client's), or anyone
the admin API lets in (an admin's sign-in or an API key); anyone else gets 401 or 403 in
the API envelope.

The sampler adds, once a second and before every scrape, the door's and broker's tallied
observations to their histograms (``hub.metrics.Tally``) and copies what the hub already
keeps as plain numbers into the metrics: the door's queue depth, WebSocket connections by
channel type and their queued bytes, the frames, deliveries and closes of the real-time hub,
the broker's state, reconnects and drops, and the database pool's use. Levels are per
worker and summed over the live workers; counters are copied as increments.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub import metrics
from hub.config import IPNetwork
from hub.state import Hub, caller, hub_of

log = logging.getLogger("rollcall.metrics")

SAMPLE_S = 1.0
KINDS = ("dashboard", "attendee", "event")


def allowed_address(allow: tuple[IPNetwork, ...], host: str | None) -> bool:
    if not allow or not host:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in net for net in allow)


async def metrics_endpoint(request: Request) -> Response:
    hub = hub_of(request)
    client = request.client
    if not allowed_address(hub.settings.metrics_allow, client.host if client else None):
        await caller(request, "admin")  # 401 or 403 in the envelope
    sampler = getattr(request.app.state, "sampler", None)
    if isinstance(sampler, Sampler):
        sampler.sample()  # this worker's levels as of now
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type,
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


class Sampler:
    """Copies one worker's numbers into the metrics (see the module's text)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._last: dict[str, int] = {}

    def _add(self, name: str, counter: Any, value: int) -> None:
        before = self._last.get(name, 0)
        if value > before:
            counter.inc(value - before)
        self._last[name] = value

    def sample(self) -> None:
        metrics.flush()
        hub = self.hub
        metrics.DOOR_WAITING.set(hub.door.waiting)
        node = hub.node
        by_kind = dict.fromkeys(KINDS, 0)
        queued = 0
        for c in node.conns:
            by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
            queued += c.queued
        for kind, n in by_kind.items():
            metrics.WS_CONNECTIONS.labels(kind).set(n)
        metrics.WS_QUEUED_BYTES.set(queued)
        st = node.stats
        self._add("frames", metrics.WS_FRAMES, st.frames_sent)
        self._add("deliveries", metrics.WS_DELIVERIES, st.deliveries)
        self._add("too_slow", metrics.WS_CLOSED.labels("too_slow"), st.slow_closed)
        self._add("no_heartbeat", metrics.WS_CLOSED.labels("no_heartbeat"), st.dead_closed)
        broker = node.broker
        metrics.BROKER_LIVE.set(1 if broker.live else 0)
        self._add("reconnects", metrics.BROKER_RECONNECTS, getattr(broker, "reconnects", 0))
        self._add("dropped", metrics.BROKER_DROPPED, getattr(broker, "dropped", 0))
        pool: Any = hub.db.engine.pool
        try:
            out, idle, over = pool.checkedout(), pool.checkedin(), max(0, pool.overflow())
        except AttributeError:  # a pool without these counts
            return
        metrics.DB_POOL_IN_USE.set(out)
        metrics.DB_POOL_OPEN.set(out + idle)
        metrics.DB_POOL_OVERFLOW.set(over)


async def run_sampler(sampler: Sampler) -> None:
    """Sample every ``SAMPLE_S`` until cancelled; on the way out this worker's levels stop
    counting."""
    try:
        while True:
            try:
                sampler.sample()
            except Exception:  # noqa: BLE001 - metrics never stop the hub
                log.exception("sampling the metrics failed")
            await asyncio.sleep(SAMPLE_S)
    finally:
        metrics.process_exited(os.getpid())
