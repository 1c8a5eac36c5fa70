"""The real-time hub: WebSocket endpoints, broker and local connection registry.

``protocol`` (wire frames and close codes), ``broker`` / ``redis_broker`` (how workers hear
each other), ``channels`` / ``event_channel`` (per-session and event-wide state and fan-out),
``connection`` (one socket: direct writes, a bounded overflow queue), ``node`` (this
worker's hub), ``endpoints`` (handshake and auth), ``store`` (database reads). The protocol
for clients is in ``docs/realtime.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from hub.state import Hub


def routes() -> list[BaseRoute]:
    from hub.realtime.endpoints import ws_routes

    return ws_routes()


@asynccontextmanager
async def running(hub: Hub) -> AsyncIterator[None]:
    """Start the broker and the registry for ``hub``; stop them on exit.

    Installs the node as ``hub.sink`` (the attendance engine publishes committed events to it)
    and ``hub.broker_status`` (for /healthz).
    """
    from hub.events import NullSink
    from hub.realtime.config import load_realtime_config
    from hub.realtime.node import Node

    node = Node(hub, load_realtime_config(hub.settings))
    await node.start()
    hub.sink = node
    hub.broker_status = node.status
    hub.extras["realtime"] = node
    try:
        yield
    finally:
        hub.sink = NullSink()
        await node.stop()
