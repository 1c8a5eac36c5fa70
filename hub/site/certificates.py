"""Certificates in the browser: the public verification page (``/verify/{code}``, what a QR
code on a certificate opens) and the signed-in attendee's own certificate.

The verification page says only what a certificate's reader needs: that the code is valid, the
holder's name, the event and the totals; a revoked or unknown code says so (404 for unknown).
It is plain server-rendered HTML with the site's stylesheet: no script, nothing else to load.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hub.api.certificates import pdf_response
from hub.domain.certificate import format_credits
from hub.envelope import ok
from hub.errors import Forbidden, HubError
from hub.services import certificates
from hub.site.pages import SECURITY_HEADERS
from hub.state import hub_of


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/css/app.css"></head><body>'
        '<header class="bar"><h1>Certificate verification</h1></header>'
        f'<main id="app">{body}</main></body></html>')


async def verify_page(request: Request) -> Response:
    hub = hub_of(request)
    found = await certificates.verify(hub, request.path_params["code"])
    status = 200
    if found.state == "valid":
        rows = "".join(f"<tr><th scope=\"row\">{escape(t.name)}</th>"
                       f"<td>{format_credits(t.credits)}</td></tr>" for t in found.totals)
        minutes = (f"<p>CE minutes: <strong>{found.minutes}</strong></p>"
                   if found.minutes else "")
        body = (f'<p class="notice ok" id="verdict">Valid certificate {escape(found.code)}</p>'
                f'<p>Issued to <strong id="holder">{escape(found.holder)}</strong> for '
                f'<strong id="event">{escape(found.event)}</strong>.</p>'
                f'<table id="totals"><thead><tr><th scope="col">Field of study</th>'
                f'<th scope="col">Credits</th></tr></thead><tbody>{rows}</tbody></table>'
                f"{minutes}")
    elif found.state == "revoked":
        body = (f'<p class="notice bad" id="verdict">Certificate {escape(found.code)} was '
                "revoked: it is no longer valid.</p>")
    else:
        status = 404
        body = ('<p class="notice bad" id="verdict">No certificate has this code. Check the '
                "code as printed on the certificate.</p>")
    response = HTMLResponse(_page("Certificate verification", body), status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers["cache-control"] = "no-store"
    response.headers["x-robots-tag"] = "noindex"
    return response


async def _attendee(request: Request) -> int:
    principal = await hub_of(request).principal(request)
    if principal.kind != "attendee" or principal.attendee_id is None:
        raise Forbidden("Sign in as the attendee first.")
    return principal.attendee_id


async def my_certificate(request: Request) -> Response:
    """The signed-in attendee's certificate (404 no_credit before they have credit)."""
    aid = await _attendee(request)
    name, pdf = await certificates.certificate_pdf(hub_of(request), aid)
    return pdf_response(name, pdf)


async def my_credit(request: Request) -> Response:
    """Whether the signed-in attendee has a certificate to download (the schedule's link)."""
    try:
        aid = await _attendee(request)
    except HubError:
        return ok({"available": False})
    return ok({"available": await certificates.has_credit(hub_of(request), aid)})


routes = [
    Route("/verify/{code}", verify_page, methods=["GET"]),
    Route("/my/certificate.pdf", my_certificate, methods=["GET"]),
    Route("/ui/certificate", my_credit, methods=["GET"]),
]
