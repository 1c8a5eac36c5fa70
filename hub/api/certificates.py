"""Certificates: one attendee's PDF, the event's as a streamed zip, revoking one, and the
certificate's logo. Administrators and API keys; the attendee downloads their own from the
schedule page (``hub.site.certificates``). The work is in ``hub.services.certificates``."""

from __future__ import annotations

import asyncio

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hub.api.sheets import administrator
from hub.api.spec import operation
from hub.domain.certificate import LOGO_MAX_BYTES, validate_logo
from hub.envelope import ok
from hub.errors import NotFound
from hub.http import read_body, read_json
from hub.services import certificates
from hub.sheets.writing import _disposition
from storage.app import update_app

PDF = ("application/pdf",)
IMAGES = ("image/png", "image/jpeg")


def pdf_response(filename: str, pdf: bytes) -> Response:
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": _disposition(filename),
                             "cache-control": "no-store"})


@operation("GET", "/attendees/{external_id}/certificate.pdf",
           summary="An attendee's CE certificate (PDF)", tag="Certificates", downloads=PDF,
           errors=(401, 403, 404),
           description="Every session the attendee earned credit in, with the credits per "
           "field of study (adjusted values marked), totals, the issuer, and a verification "
           "code with its URL and QR code. The code is issued on the first download and kept. "
           "404 no_credit when the attendee has earned none; 403 when it was revoked.")
async def attendee_certificate(request: Request) -> Response:
    hub = await administrator(request)
    name, pdf = await certificates.certificate_for_external_id(
        hub, request.path_params["external_id"])
    return pdf_response(name, pdf)


@operation("GET", "/certificates.zip", summary="Every certificate of the event (zip)",
           tag="Certificates", downloads=("application/zip",), errors=(401, 403),
           description="One PDF per attendee with credit, streamed as it is rendered. Revoked "
           "certificates are left out.")
async def all_certificates(request: Request) -> Response:
    hub = await administrator(request)
    return StreamingResponse(certificates.zip_chunks(hub), media_type="application/zip",
                             headers={"content-disposition": _disposition("certificates.zip"),
                                      "cache-control": "no-store"})


class RevokeIn(msgspec.Struct):
    revoked: bool = True


class RevokeOut(msgspec.Struct):
    revoked: bool


@operation("POST", "/attendees/{external_id}/certificate/revoke",
           summary="Revoke (or reinstate) an attendee's certificate", tag="Certificates",
           request=RevokeIn, response=RevokeOut, errors=(400, 401, 403, 404, 422),
           description="A revoked certificate verifies as revoked at /verify/{code} and is "
           "no longer downloaded; revoked: false reinstates it.")
async def revoke_certificate(request: Request) -> Response:
    hub = await administrator(request)
    body = await read_json(request, RevokeIn)
    if not await certificates.revoke(hub, request.path_params["external_id"], body.revoked):
        raise NotFound("This attendee has no certificate yet.")
    return ok(RevokeOut(revoked=body.revoked))


@operation("PUT", "/app/certificate-logo", summary="Set the certificate's logo",
           tag="Certificates", uploads=IMAGES, errors=(401, 403, 413, 422),
           description=f"A PNG or JPEG image as the body, at most {LOGO_MAX_BYTES // 1024} "
           "KiB and 4000 pixels a side.")
async def put_logo(request: Request) -> Response:
    hub = await administrator(request)
    logo = await read_body(request, LOGO_MAX_BYTES + 1)
    await asyncio.to_thread(validate_logo, logo, "body")
    async with hub.tx() as conn:
        await update_app(conn, {"certificate_logo": logo})
    return ok(None)


@operation("DELETE", "/app/certificate-logo", summary="Remove the certificate's logo",
           tag="Certificates", errors=(401, 403))
async def delete_logo(request: Request) -> Response:
    hub = await administrator(request)
    async with hub.tx() as conn:
        await update_app(conn, {"certificate_logo": None})
    return ok(None)
