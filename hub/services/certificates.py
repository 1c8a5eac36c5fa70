"""Certificates of CE credit: what one attendee's certificate shows, its verification code, the
PDF, every certificate of the event as one streamed zip, and what ``/verify/{code}`` confirms.

A certificate lists the sessions where the attendee was awarded credit (a field of study above
0, an admin's adjusted value counting), with the credits per field as the attendance records
show them (``hub.domain.records``: the credit rule, CE minutes, the self-report setting and
adjustments all apply), marked self-reported where they were. An attendee without such a
session has no certificate (``no_credit``). The verification code is issued on the first
download and kept: the same attendee always gets the same code, and a revoked code verifies
as revoked (the download is then refused).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.certificate import (
    DEFAULT_TITLE,
    CertificateData,
    FieldCredit,
    FieldTotal,
    SessionCredit,
    field_totals,
    filename_for,
    render_certificate,
    total_minutes,
)
from hub.domain.dates import now
from hub.domain.records import SELF_REPORT, RecordState, user_of
from hub.domain.records import serialize as serialize_record
from hub.domain.verification import format_code, new_code, normalise_code
from hub.door.loading import load_extras, load_session
from hub.errors import CheckinRefused, Forbidden
from hub.state import Hub
from storage import attendees as people
from storage import credit as credit_rows
from storage.app import app_row

PAGE = 50  # attendees read per round trip for the event's zip


def _name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in ((first or "").strip(), (last or "").strip()) if p)


async def sessions_with_credit(conn: AsyncConnection, attendee_id: int,
                               at: dt.datetime) -> list[SessionCredit]:
    """The sessions where the attendee was awarded credit, in schedule order."""
    out: list[SessionCredit] = []
    for s in await credit_rows.attended_sessions(conn, attendee_id):
        loaded = await load_session(conn, s.id)
        if not loaded.ctx.fields:
            continue
        rec = await credit_rows.record_of(conn, s.id, attendee_id)
        if rec is None:
            continue
        state = RecordState.of(rec._mapping)
        extras = (await load_extras(conn, [state.id]))[state.id]
        record = serialize_record(state, user_of(_NOBODY), extras, loaded.ctx, at)
        fields = tuple(
            FieldCredit(name=f.name, earned=float(f.credits_earned),
                        adjusted=None if f.adjustment is None else float(f.adjustment.credits))
            for f in record.fields_of_study)
        if not any(f.awarded > 0 for f in fields):
            continue
        out.append(SessionCredit(title=s.name, date=s.date, ce_minutes=loaded.ctx.ce_minutes,
                                 self_reported=state.checkin_source == SELF_REPORT,
                                 fields=fields))
    return out


_NOBODY = {name: None for name in ("first_name", "last_name", "email", "external_id",
                                   "field_1", "field_2", "field_3", "field_4", "field_5",
                                   "badge_id")}


async def _data(conn: AsyncConnection, hub: Hub, attendee_id: int, app: object,
                at: dt.datetime, *, issue: bool) -> CertificateData | None:
    """The attendee's certificate, or None without credit. With ``issue`` a code is issued
    when they have none yet; a revoked certificate raises Forbidden."""
    sessions = await sessions_with_credit(conn, attendee_id, at)
    if not sessions:
        return None
    names = await people.names_of(conn, attendee_id)
    cert = await credit_rows.certificate_of(conn, attendee_id)
    if cert is None and issue:
        cert = await credit_rows.issue_certificate(conn, attendee_id=attendee_id,
                                                   code=new_code(), at=at)
    if cert is None:
        return None
    if cert.revoked_at is not None:
        raise Forbidden("This certificate was revoked.")
    code = format_code(cert.code)
    return CertificateData(
        title=(getattr(app, "certificate_title", None) or "").strip() or DEFAULT_TITLE,
        event_name=(getattr(app, "name", None) or "").strip() or "Rollcall",
        event_start=getattr(app, "start_date", None), event_end=getattr(app, "end_date", None),
        attendee_name=_name(names.first_name, names.last_name) or "Attendee",
        issuer=getattr(app, "certificate_issuer", None) or "",
        sponsor_id=getattr(app, "certificate_sponsor_id", None) or "",
        signature_text=getattr(app, "certificate_signature", None) or "",
        verification_code=cert.code,
        verification_url=hub.url(f"/verify/{code}"),
        sessions=tuple(sessions),
        logo=getattr(app, "certificate_logo", None),
        issued_on=_as_date(cert.issued_at),
    )


def _as_date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


async def has_credit(hub: Hub, attendee_id: int) -> bool:
    async with hub.read() as conn:
        return bool(await sessions_with_credit(conn, attendee_id, now()))


async def certificate_pdf(hub: Hub, attendee_id: int) -> tuple[str, bytes]:
    """(filename, PDF) of the attendee's certificate; issues its code on the first call.
    Raises CheckinRefused("no_credit") (404) without credit, Forbidden when revoked."""

    async def work(conn: AsyncConnection) -> CertificateData | None:
        app = await app_row(conn)
        return await _data(conn, hub, attendee_id, app, now(), issue=True)

    data = await hub.db.run(work)
    if data is None:
        raise CheckinRefused("no_credit")
    pdf = await asyncio.to_thread(render_certificate, data)
    return filename_for(data), pdf


async def certificate_for_external_id(hub: Hub, external_id: str) -> tuple[str, bytes]:
    async with hub.read() as conn:
        row = await people.by_external_id(conn, external_id.strip())
    if row is None:
        raise CheckinRefused("unknown_attendee")
    return await certificate_pdf(hub, int(row.id))


async def zip_chunks(hub: Hub) -> AsyncIterator[bytes]:
    """Every certificate of the event as one zip, streamed: attendees are read a page at a
    time, each PDF rendered off the event loop and written out as soon as it is ready (the zip
    is never held whole). Revoked certificates are left out; codes are issued as needed."""
    sink = _Pipe()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
    after = 0
    seen: set[str] = set()
    while True:
        async with hub.read() as conn:
            ids = await credit_rows.attendees_with_attendance(conn, after=after, limit=PAGE)
        if not ids:
            break
        after = ids[-1]
        for aid in ids:
            try:
                name, pdf = await certificate_pdf(hub, aid)
            except (CheckinRefused, Forbidden):
                continue
            stem, n = name.removesuffix(".pdf"), 2
            while name in seen:
                name, n = f"{stem}-{n}.pdf", n + 1
            seen.add(name)
            archive.writestr(name, pdf)
            chunk = sink.take()
            if chunk:
                yield chunk
    archive.close()
    yield sink.take()


class _Pipe(io.RawIOBase):
    """A write-only, unseekable file the zip writes into; ``take`` empties it."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        data = bytes(b)  # type: ignore[call-overload]
        self._buf += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """What /verify/{code} may say: ``state`` valid, revoked or unknown; for a valid code the
    holder's name, the event and the totals, nothing else."""

    state: str
    holder: str = ""
    event: str = ""
    totals: tuple[FieldTotal, ...] = ()
    minutes: int = 0
    code: str = ""


async def verify(hub: Hub, text: str) -> Verified:
    code = normalise_code(text)
    if code is None:
        return Verified(state="unknown")
    async with hub.read() as conn:
        cert = await credit_rows.certificate_by_code(conn, code)
        if cert is None:
            return Verified(state="unknown")
        if cert.revoked_at is not None:
            return Verified(state="revoked", code=format_code(code))
        app = await app_row(conn)
        sessions = await sessions_with_credit(conn, cert.attendee_id, now())
    return Verified(state="valid", holder=_name(cert.first_name, cert.last_name),
                    event=(app.name or "").strip() or "Rollcall",
                    totals=field_totals(sessions), minutes=total_minutes(sessions),
                    code=format_code(code))


async def revoke(hub: Hub, external_id: str, revoked: bool) -> bool:
    """Revoke (or reinstate) the attendee's certificate; False when they have none."""
    async with hub.tx() as conn:
        row = await people.by_external_id(conn, external_id.strip())
        if row is None:
            raise CheckinRefused("unknown_attendee")
        return await credit_rows.revoke_certificate(conn, attendee_id=int(row.id),
                                                    at=now() if revoked else None)
