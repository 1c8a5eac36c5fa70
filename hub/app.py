"""create_app(settings) -> Starlette. The lifespan builds the hub's long-lived parts (the
database, the password pool, the throttle, the real-time node with its broker, the door) and
closes them in the reverse order: the door first settles what is queued. Nothing is built at
import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.api.routes import api_routes
from hub.auth.cookies import Signer
from hub.auth.passwords import Passwords
from hub.auth.throttle import Throttle
from hub.config import Settings, load_settings
from hub.door.service import DoorService
from hub.envelope import NOSNIFF, fail, from_error
from hub.errors import HubError
from hub.http import ClientAddress
from hub.monitoring import Sampler, metrics_endpoint, run_sampler
from hub.outage import Outage, connection_lost
from hub.realtime.endpoints import ws_routes
from hub.realtime.node import Node
from hub.services import housekeeping
from hub.site.routes import site_routes
from hub.state import Hub, hub_of
from storage.app import resolve_secret_key
from storage.engine import DRIVER_ERRORS, open_database

log = logging.getLogger("rollcall")


async def healthz(request: Request) -> Response:
    """Public: says whether the database and the broker answer, never why not (that goes to
    the log, where only the operator reads it)."""
    hub = hub_of(request)
    db = {"state": "ok", "dialect": hub.settings.database.dialect}
    status = 200
    try:
        await hub.db.ping()
    except Exception as exc:  # noqa: BLE001 - report, never raise
        log.warning("healthz: the database does not answer: %s: %s", type(exc).__name__, exc)
        db = {"state": "unreachable", "dialect": hub.settings.database.dialect}
        status = 503
    broker = hub.node.status()
    broker.pop("error", None)  # the broker logs its own errors
    overall = "ok" if status == 200 and broker.get("state") == "ok" else (
        "degraded" if status == 200 else "unavailable"
    )
    return JSONResponse({"status": overall, "database": db, "broker": broker}, status_code=status,
                        headers=NOSNIFF)


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return from_error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "Not found.", 405: "Method not allowed."}
    return fail(
        exc.status_code,
        messages.get(exc.status_code, str(exc.detail)),
        reason={404: "not_found", 405: "method_not_allowed"}.get(exc.status_code),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    if connection_lost(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return fail(500, "Internal server error.", reason="internal")


async def _database_error(request: Request, exc: Exception) -> Response:
    """A database error, handled here rather than by ``_server_error`` (which Starlette
    re-raises after answering, so the server logs a second traceback): a lost connection is
    a 503 and one warning per outage; anything else a 500 and its traceback, once."""
    if connection_lost(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return fail(500, "Internal server error.", reason="internal")


def _unavailable(request: Request, exc: Exception) -> Response:
    hub = getattr(request.app.state, "hub", None)
    outage = hub.outage if isinstance(hub, Hub) else Outage()
    return from_error(outage.unavailable(exc))


class RefuseNulInURL:
    """No URL carries a NUL character: PostgreSQL cannot store one, and no id or query
    value of ours contains one. Answered 400 in the envelope before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (
            "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            if scope["type"] == "http":
                response = fail(400, "The URL contains a NUL character.", reason="bad_request")
                await response(scope, receive, send)
            else:  # accepted, then closed with 4400: a browser does not retry that
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                    await send({"type": "websocket.close", "code": 4400,
                                "reason": "The URL contains a NUL character."})
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(settings.database)
        try:
            async with db.tx() as conn:
                secret = await resolve_secret_key(conn, settings.secret_key)
            signer = Signer(secret)
            passwords = Passwords()
            await passwords.start()
            throttle = Throttle(settings)
            node = Node(db, settings)
            await node.start()
            outage = Outage()
            door = DoorService(db, signer, node, late_scan_hours=settings.late_scan_hours,
                               outage=outage)
            hub = Hub(settings=settings, db=db, signer=signer, throttle=throttle, node=node,
                      door=door, sink=node, passwords=passwords, outage=outage)
            app.state.hub = hub
            upkeep = asyncio.create_task(housekeeping.run(hub), name="rollcall-housekeeping")
            sampler = app.state.sampler = Sampler(hub)
            sampling = asyncio.create_task(run_sampler(sampler), name="rollcall-metrics")
            try:
                yield
            finally:
                for task in (upkeep, sampling):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await door.close()  # settles what is queued, publishing to the node
                await node.stop()
                await throttle.close()
                await passwords.close()
        finally:
            await db.close()

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"]),
                               Route("/metrics", metrics_endpoint, methods=["GET"])]
    routes += api_routes()
    routes += ws_routes()
    routes += site_routes()
    return Starlette(
        routes=routes,
        middleware=[Middleware(ClientAddress, trusted=settings.trusted_proxies),
                    Middleware(RefuseNulInURL)],
        lifespan=lifespan,
        exception_handlers={
            HubError: _hub_error,
            HTTPException: _http_error,
            **{cls: _database_error for cls in DRIVER_ERRORS},
            Exception: _server_error,
        },
    )


def app_from_env() -> Starlette:
    """uvicorn's factory (``hub.app:app_from_env``), for ``rollcall serve``."""
    return create_app(load_settings())
