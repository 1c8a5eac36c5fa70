"""The long-lived resources of one hub process, opened in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import HTTPConnection

from hub.auth import Principal, Signer, authenticate
from hub.config import Settings
from hub.events import EventSink, NullSink


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    signer: Signer
    sink: EventSink = field(default_factory=NullSink)
    # Filled by the real-time hub: a callable giving the broker's state for /healthz.
    broker_status: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed on normal exit, rolled back on any exception."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    def url(self, path: str) -> str:
        return self.settings.public_url + path

    async def principal(self, request: HTTPConnection) -> Principal:
        async with self.read() as conn:
            return await authenticate(conn, request, self.signer)


def hub_of(request: HTTPConnection) -> Hub:
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        raise RuntimeError("the hub is not started (lifespan did not run)")
    return hub  # type: ignore[no-any-return]
