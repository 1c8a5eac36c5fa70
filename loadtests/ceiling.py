"""The framework ceiling: an empty Starlette endpoint at the check-in's path.

The benchmark serves this app under exactly the uvicorn settings ``rollcall serve`` uses
(uvloop, httptools, same worker count, no access log) and drives it with the same generator
and concurrency as the real door rush. Check-in throughput divided by this figure is the ratio
we steer by: absolute numbers on a shared 2-core machine drift, the ratio much less.

The endpoint neither reads the body nor touches a database; it answers a constant envelope of
about the size of a refusal.

    python -m loadtests.ceiling --port 8001 --workers 2
"""

from __future__ import annotations

import argparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"status":"ok","code":"200","data":{"seq":0}}'


async def checkin(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/v2/sessions/{session_id}/attendance/checkin", checkin, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)


def main() -> None:
    """Serve ``app`` with the uvicorn settings of ``rollcall serve`` (hub/cli.py)."""
    import uvicorn

    from hub.cli import SERVER_SETTINGS

    p = argparse.ArgumentParser(description="the empty-endpoint ceiling app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="warning")
    args = p.parse_args()
    uvicorn.run(
        "loadtests.ceiling:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
        **SERVER_SETTINGS,  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
