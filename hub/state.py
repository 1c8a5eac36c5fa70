"""The long-lived parts of one hub process, built and closed by the app's lifespan
(``hub.app``): the database, the cookie signer, the password pool, the throttle, the real-time
node and the door.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection, Request

from hub.auth.cookies import Signer, authenticate
from hub.auth.passwords import Passwords
from hub.auth.principal import Principal
from hub.auth.throttle import Throttle
from hub.config import Settings
from hub.domain.events import EventSink
from hub.door.service import DoorService
from hub.outage import Outage
from hub.realtime.node import Node
from storage.engine import Database


@dataclass
class Hub:
    settings: Settings
    db: Database
    signer: Signer
    throttle: Throttle
    node: Node
    door: DoorService
    sink: EventSink  # where committed events go: the real-time node
    passwords: Passwords  # Argon2 hashes and checks, off the event loop
    outage: Outage = field(default_factory=Outage)  # lost database connections: 503, logged

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed on normal exit, rolled back on any exception."""
        async with self.db.tx() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.read() as conn:
            yield conn

    def url(self, path: str) -> str:
        return self.settings.public_url + path

    async def principal(self, request: HTTPConnection) -> Principal:
        async with self.read() as conn:
            return await authenticate(conn, request, self.signer)


def hub_of(request: HTTPConnection) -> Hub:
    hub = getattr(request.app.state, "hub", None)
    if not isinstance(hub, Hub):
        raise RuntimeError("the hub is not started (lifespan did not run)")
    return hub


async def caller(request: Request, permission: str | None = "admin") -> tuple[Hub, Principal]:
    """The hub and the authenticated caller; 401 without credentials, 403 without
    ``permission`` (API keys hold every permission)."""
    hub = hub_of(request)
    principal = await hub.principal(request)
    if permission is not None:
        principal.require(permission)
    return hub, principal
