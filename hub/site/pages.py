"""The web pages served from ``web/``: HTML shells, static files, and the headers they carry.

Every page is a static HTML shell with small ES modules; the data arrives as JSON from the
API (``/api/v2``), the page-data routes (``hub.site.pagedata``), the browser login routes
(``hub.site.signin``) and the admin routes (``hub.site.admin``). Nothing is fetched from another
origin: the Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from hub.auth.cookies import ensure_csrf_cookie
from hub.state import hub_of

WEB = Path(__file__).resolve().parents[2] / "web"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}

# path -> the HTML shell that renders it
PAGES: dict[str, str] = {
    "/": "index.html",
    "/sessions/{sid}": "index.html",
    "/sessions/{sid}/dashboard": "dashboard.html",
    "/sessions/{sid}/screen": "screen.html",
    "/kiosk/{sid}": "kiosk.html",
    "/staff/scan": "scan.html",
    "/staff/dashboard": "event.html",
    "/staff/review": "review.html",
    "/admin": "admin.html",
}


def _page(filename: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        response = FileResponse(WEB / filename, media_type="text/html; charset=utf-8")
        response.headers.update(SECURITY_HEADERS)
        response.headers["cache-control"] = "no-cache"
        ensure_csrf_cookie(request, response, hub_of(request).settings.public_url)
        return response

    endpoint.__name__ = "page_" + filename.replace(".", "_")
    return endpoint


class _Static(StaticFiles):
    """StaticFiles with our security headers and revalidation on every load."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for k, v in SECURITY_HEADERS.items():
                    headers.append((k.encode(), v.encode()))
                headers.append((b"cache-control", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_with_headers)  # type: ignore[arg-type]


async def service_worker(request: Request) -> Response:
    """The door pages' service worker, at the root so that its scope covers /staff/scan and
    /kiosk/{id} (it caches only those pages and what they load)."""
    response = FileResponse(WEB / "sw.js", media_type="text/javascript; charset=utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["cache-control"] = "no-cache"
    return response


def _manifest(name: str, start_url: str) -> Response:
    return JSONResponse({
        "name": name, "short_name": name, "start_url": start_url, "scope": start_url,
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#1f4e79",
        "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }, media_type="application/manifest+json", headers={**SECURITY_HEADERS,
                                                        "cache-control": "no-cache"})


async def scan_manifest(request: Request) -> Response:
    return _manifest("Rollcall scanner", "/staff/scan")


async def kiosk_manifest(request: Request) -> Response:
    sid = request.path_params["sid"]
    return _manifest("Rollcall kiosk", f"/kiosk/{sid}")


def page_routes() -> list[BaseRoute]:
    """The pages and their static files."""
    routes: list[BaseRoute] = [
        Route(path, _page(name), methods=["GET", "HEAD"]) for path, name in PAGES.items()
    ]
    routes += [Route("/sw.js", service_worker, methods=["GET", "HEAD"]),
               Route("/staff/scan.webmanifest", scan_manifest, methods=["GET", "HEAD"]),
               Route("/kiosk/{sid}/manifest.webmanifest", kiosk_manifest,
                     methods=["GET", "HEAD"])]
    routes.append(Mount("/static", app=_Static(directory=WEB, check_dir=False), name="static"))
    return routes
