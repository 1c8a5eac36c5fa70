"""The broker: how one hub worker hears what the others publish.

One small interface (``publish``, ``subscribe``, ``unsubscribe``) with two implementations:
``MemoryBroker`` (one process, the default) and ``RedisBroker`` (``ROLLCALL_REDIS_URL``, in
``redis_broker.py``). Channel names given to a broker are logical (``session:abc123``,
``event``); the broker prefixes them with ``settings.channel_prefix`` where names are shared.

Guarantees, for both:

- At most once, and in publish order per publishing worker. A message can be lost (a Redis
  outage); the hub never relies on the broker alone: every session message carries ``seq`` and
  the database's ``session_events`` fill any hole.
- ``publish`` never raises for an outage and never waits for other workers; the publishing
  worker's own subscribers are served at once, before ``publish`` returns.
- A worker is subscribed to a channel only while it has local subscribers.
- ``on_resync`` is called whenever messages may have been missed (after a reconnect): every
  channel is then treated as possibly behind and caught up from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from hub.realtime.redis_broker import RedisBroker

MessageHandler = Callable[[str, bytes], None]  # (logical channel, data); must not block
ResyncHandler = Callable[[], None]
StateHandler = Callable[[bool], None]  # live: True when every message can be heard


def session_channel(session_id: str) -> str:
    return f"session:{session_id}"


EVENT_CHANNEL = "event"


class Broker(Protocol):
    kind: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, data: bytes) -> None:
        """Deliver ``data`` to every subscriber of ``channel`` on every worker."""

    async def subscribe(self, channel: str) -> None:
        """Start hearing ``channel``. Returns once the subscription is active (or at once,
        while the broker is away: the channel is then caught up on reconnect)."""

    async def unsubscribe(self, channel: str) -> None: ...

    @property
    def live(self) -> bool:
        """True while every published message can reach this worker."""

    def status(self) -> dict[str, Any]: ...


class MemoryBroker:
    """In-process: publish calls the handler directly. Always live."""

    kind = "memory"

    def __init__(self, on_message: MessageHandler) -> None:
        self._on_message = on_message
        self._subscribed: set[str] = set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribed.clear()

    async def publish(self, channel: str, data: bytes) -> None:
        if channel in self._subscribed:
            self._on_message(channel, data)

    async def subscribe(self, channel: str) -> None:
        self._subscribed.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._subscribed.discard(channel)

    @property
    def live(self) -> bool:
        return True

    def status(self) -> dict[str, Any]:
        return {"kind": "memory", "state": "ok", "channels": len(self._subscribed)}


def open_broker(redis_url: str | None, prefix: str, *, on_message: MessageHandler,
                on_resync: ResyncHandler, on_state: StateHandler) -> Broker:
    """The broker the URL names: Redis for ``redis://`` / ``rediss://`` / ``unix://``, else
    the in-process one (one worker)."""
    if redis_url:
        return RedisBroker(redis_url, prefix, on_message=on_message, on_resync=on_resync,
                           on_state=on_state)
    return MemoryBroker(on_message)
