"""Certificates of continuing-education credit, as PDF.

One certificate per attendee for the event: who attended what, when, and the credits each
session earned per field of study (an admin's adjusted value shown and marked), the totals, who
issues it, and a verification code with its URL and a QR code of that URL.

Layout: landscape, A4 or US Letter (``paper``), drawn inside the area both share so either
prints without clipping. Landscape because a certificate is expected to look like one, and
because the sessions table needs the width: a column per field of study beside a readable
session title. A long table continues on further pages with its column headings repeated
and the attendee's name at the top; the signature and verification block is never split.

Any name prints: the fonts are embedded, with a fallback for Chinese, Japanese and Korean
(see ``hub.domain.pdfpage``).

Pure: bytes in, bytes out; no files but the vendored fonts, no network. The PDF's creation
date is ``issued_on`` when given (then the same data gives the same bytes), else fpdf2 stamps
the time of rendering.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal

import msgspec
from fpdf import FPDF
from fpdf.image_parsing import preload_image
from PIL import Image

from hub.domain.pdfpage import (
    ACCENT,
    INK,
    MARGIN_MM,
    MUTED,
    RULE,
    STRIPE,
    TINT,
    Cell,
    Column,
    Line,
    Page,
    draw_headings,
    draw_qr,
    draw_row,
    lay_out,
    number_pages,
    row_height,
)
from hub.domain.verification import format_code
from hub.errors import Invalid

DEFAULT_TITLE: Final = "Certificate of Continuing Education"
LOGO_MAX_BYTES: Final = 1024 * 1024
LOGO_MAX_SIDE: Final = 4000
MAX_FIELD_COLUMNS: Final = 6  # more fields of study than this: one "Credits" column listing them
ADJUSTED_MARK: Final = "†"
MISSING: Final = "—"
CLOSING_MM: Final = 36.0  # the signature and verification block, at the foot of the last page


# --- The data -----------------------------------------------------------------------------

class FieldCredit(msgspec.Struct, frozen=True):
    """One field of study's credit for one session: earned by the rule, maybe adjusted."""

    name: str
    earned: float
    adjusted: float | None = None  # set when an admin adjusted the award

    @property
    def awarded(self) -> float:
        return self.earned if self.adjusted is None else self.adjusted


class SessionCredit(msgspec.Struct, frozen=True):
    title: str
    date: dt.date | None = None
    ce_minutes: int | None = None
    self_reported: bool = False
    fields: tuple[FieldCredit, ...] = ()


class CertificateData(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one certificate shows. Sessions print in the order given."""

    title: str = DEFAULT_TITLE
    event_name: str
    event_start: dt.date | None = None
    event_end: dt.date | None = None
    attendee_name: str
    issuer: str = ""
    sponsor_id: str = ""
    signature_text: str = ""
    verification_code: str
    verification_url: str
    sessions: tuple[SessionCredit, ...] = ()
    logo: bytes | None = None  # PNG or JPEG
    issued_on: dt.date | None = None
    paper: Literal["A4", "Letter"] = "A4"


class FieldTotal(msgspec.Struct, frozen=True):
    name: str
    credits: int | float


# --- Pure rules: numbers, totals, dates, names --------------------------------------------

def number(value: float) -> int | float:
    """Credits as the API writes them: 2.0 -> 2, 1.256 -> 1.26 (at most two decimals)."""
    rounded = round(float(value), 2)
    if not math.isfinite(rounded):
        raise ValueError(f"not a number of credits: {value!r}")
    return int(rounded) if rounded.is_integer() else rounded


def format_credits(value: float) -> str:
    return str(number(value))


def field_totals(sessions: Iterable[SessionCredit]) -> tuple[FieldTotal, ...]:
    """Credits awarded per field of study (adjusted where adjusted, else earned), summed over
    the sessions; fields in order of first appearance, names compared after trimming."""
    sums: dict[str, float] = {}
    for session in sessions:
        for field in session.fields:
            name = field.name.strip()
            sums[name] = sums.get(name, 0.0) + field.awarded
    return tuple(FieldTotal(name=name, credits=number(total)) for name, total in sums.items())


def total_minutes(sessions: Iterable[SessionCredit]) -> int:
    """The CE minutes of the sessions that have them."""
    return sum(s.ce_minutes for s in sessions if s.ce_minutes)


def format_date(day: dt.date) -> str:
    """14 May 2026: unambiguous whatever the reader's habits."""
    return f"{day.day} {day:%B %Y}"


def format_date_range(start: dt.date | None, end: dt.date | None) -> str:
    """14–16 May 2026, 30 May – 2 June 2026, 30 December 2026 – 2 January 2027; "" for none."""
    if start is None or end is None or start == end:
        day = start or end
        return format_date(day) if day else ""
    if end < start:
        start, end = end, start
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} – {format_date(end)}"
    return f"{format_date(start)} – {format_date(end)}"


_ASCII_FOLD = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d",
                             "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe",
                             "Þ": "Th", "þ": "th", "ı": "i"})


def filename_for(data: CertificateData) -> str:
    """``certificate-zoe-odegard-7KQ2M9XD4HTR.pdf``: ASCII, unique by the code."""
    folded = unicodedata.normalize("NFKD", data.attendee_name.translate(_ASCII_FOLD))
    slug = re.sub(r"[^a-z0-9]+", "-", folded.encode("ascii", "ignore").decode().lower())
    slug = slug.strip("-")[:40].strip("-")
    code = format_code(data.verification_code).replace("-", "")
    return f"certificate-{slug}-{code}.pdf" if slug else f"certificate-{code}.pdf"


def validate_logo(logo: bytes, field: str = "logo") -> None:
    """Raise Invalid unless ``logo`` is a readable PNG or JPEG of at most 1 MiB and 4000
    pixels a side (a small file can hold a huge image: the size is read before decoding)."""
    if not logo:
        raise Invalid(field, "is empty")
    if len(logo) > LOGO_MAX_BYTES:
        raise Invalid(field, f"must be at most {LOGO_MAX_BYTES // 1024} KiB")
    try:
        with Image.open(io.BytesIO(logo), formats=("PNG", "JPEG")) as image:
            width, height = image.size
    except Image.UnidentifiedImageError:
        raise Invalid(field, "must be a PNG or JPEG image") from None
    except Exception:  # any failure to read it is the uploader's problem
        raise Invalid(field, "could not be read as an image") from None
    if max(width, height) > LOGO_MAX_SIDE:
        raise Invalid(field, f"must be at most {LOGO_MAX_SIDE} pixels wide and high")
    try:
        probe = FPDF()
        probe.add_page()
        probe.image(io.BytesIO(logo), x=0, y=0, w=10)  # decoded as the renderer will
    except Exception:
        raise Invalid(field, "could not be read as an image") from None


# --- Rendering --------------------------------------------------------------------------

def render_certificate(data: CertificateData) -> bytes:
    """The certificate as PDF bytes. Raises ValueError for a malformed verification code and
    whatever the image parser raises for an unreadable logo (check it with validate_logo)."""
    pdf = Page(data.paper, _texts(data),
               running_head=f"{data.title} · {data.attendee_name} · continued")
    pdf.set_title(f"{data.title}: {data.attendee_name}")
    pdf.set_author(data.issuer or data.event_name)
    pdf.set_subject(data.event_name)
    pdf.set_creator("Rollcall")
    if data.issued_on is not None:
        pdf.set_creation_date(dt.datetime.combine(data.issued_on, dt.time(), dt.UTC))
    pdf.add_page()
    _opening(pdf, data)
    _sessions_table(pdf, data)
    _closing(pdf, data)
    number_pages(pdf, f"Verification code {format_code(data.verification_code)}")
    return bytes(pdf.output())


def render_many(items: Iterable[CertificateData]) -> Iterator[tuple[str, bytes]]:
    """``(filename, pdf)`` per certificate, one at a time (for streaming a zip); filenames are
    unique even if a code repeats."""
    seen: set[str] = set()
    for data in items:
        name = filename_for(data)
        stem, n = name.removesuffix(".pdf"), 2
        while name in seen:
            name, n = f"{stem}-{n}.pdf", n + 1
        seen.add(name)
        yield name, render_certificate(data)


def _texts(data: CertificateData) -> Iterator[str]:
    yield from (data.title, data.event_name, data.attendee_name, data.issuer, data.sponsor_id,
                data.signature_text, data.verification_url)
    for session in data.sessions:
        yield session.title
        yield from (f.name for f in session.fields)


def _opening(pdf: Page, data: CertificateData) -> None:
    logo_w = 0.0
    if data.logo:
        # Fitted into 44 x 22 mm, aligned with the left margin (not centred in that box).
        _, _, info = preload_image(pdf.image_cache, io.BytesIO(data.logo))
        scale = min(44.0 / float(info.width), 22.0 / float(info.height))
        logo_w, logo_h = float(info.width) * scale, float(info.height) * scale
        pdf.image(io.BytesIO(data.logo), x=MARGIN_MM, y=15 + (22.0 - logo_h) / 2, w=logo_w,
                  h=logo_h)
    title_w = pdf.content_w - 2 * (logo_w + 4 if logo_w else 0)
    pdf.set_y(19)
    size = pdf.fit_size(data.title, "serif", "B", 26, 16, title_w)
    pdf.text_line(data.title, size=size, family="serif", style="B", color=ACCENT, gap=3.5,
                  width=title_w, x=(pdf.w - title_w) / 2)
    pdf.text_line(data.event_name, size=12.5, style="B", gap=0.5)
    dates = format_date_range(data.event_start, data.event_end)
    if dates:
        pdf.text_line(dates, size=10, color=MUTED)
    pdf.ln(5)
    pdf.text_line("This certifies that", size=10, color=MUTED, gap=1.5)
    size = pdf.fit_size(data.attendee_name, "serif", "B", 22, 13, pdf.content_w)
    pdf.text_line(data.attendee_name, size=size, family="serif", style="B", gap=1)
    pdf.rule((pdf.w - 90) / 2, (pdf.w + 90) / 2, pdf.get_y(), RULE, 0.3)
    pdf.ln(2.5)
    pdf.text_line(f"attended the sessions of {data.event_name} listed below and earned the "
                  "continuing-education credits shown.", size=10, gap=5)


def _columns(pdf: Page, fields: Sequence[str]) -> list[Column]:
    date = Column("Date", 29, "L")
    minutes = Column("CE minutes", 21, "C")
    if len(fields) <= MAX_FIELD_COLUMNS:
        per = {0: 0.0, 1: 30.0, 2: 30.0, 3: 30.0, 4: 27.0, 5: 24.0}.get(len(fields), 22.0)
        extra = [Column(name, per, "C") for name in fields]
    else:
        extra = [Column("Credits by field of study", 110, "L")]
    used = date.width + minutes.width + sum(c.width for c in extra)
    return [date, Column("Session", pdf.content_w - used, "L"), minutes, *extra]


def _credit_lines(field: FieldCredit | None) -> list[Line]:
    """One field's cell in its own column: the value, or the adjusted value marked and what
    attendance earned beneath it."""
    if field is None:
        return [Line(MISSING, color=MUTED)]
    if field.adjusted is None:
        return [Line(format_credits(field.earned))]
    return [Line(f"{format_credits(field.adjusted)}{ADJUSTED_MARK}", style="B"),
            Line(f"earned {format_credits(field.earned)}", size=7, color=MUTED)]


def _credit_list(pairs: Sequence[tuple[str, str]], style: str = "") -> list[Line]:
    """Many fields in one cell: "Nursing 1 · Ethics 0.5† (earned 0.25)", wrapping only
    between fields (the spaces inside one are non-breaking)."""
    if not pairs:
        return [Line(MISSING, color=MUTED)]
    items = [f"{name} {value}".replace(" ", "\u00a0") for name, value in pairs]
    return [Line(" · ".join(items), style=style)]


def _listed(field: FieldCredit) -> tuple[str, str]:
    if field.adjusted is None:
        return field.name.strip(), format_credits(field.earned)
    return field.name.strip(), (f"{format_credits(field.adjusted)}{ADJUSTED_MARK} "
                                f"(earned {format_credits(field.earned)})")


def _session_cells(session: SessionCredit, fields: Sequence[str],
                   as_columns: bool) -> list[Cell]:
    title: list[Line] = [Line(session.title)]
    if session.self_reported:
        title.append(Line("Self-reported", size=7, style="I", color=MUTED))
    cells: list[Cell] = [
        [Line(format_date(session.date) if session.date else MISSING)],
        title,
        [Line(str(session.ce_minutes) if session.ce_minutes is not None else MISSING)],
    ]
    by_name = {f.name.strip(): f for f in session.fields}
    if as_columns:
        cells.extend(_credit_lines(by_name.get(name)) for name in fields)
    else:
        cells.append(_credit_list([_listed(f) for f in session.fields]))
    return cells


def _total_cells(data: CertificateData, fields: Sequence[str],
                 as_columns: bool) -> list[Cell]:
    totals = {t.name: t.credits for t in field_totals(data.sessions)}
    minutes = total_minutes(data.sessions)
    cells: list[Cell] = [
        [Line("")],
        [Line("Total", style="B")],
        [Line(str(minutes) if minutes else MISSING, style="B")],
    ]
    if as_columns:
        cells.extend([Line(str(totals[name]), style="B")] for name in fields)
    else:
        cells.append(_credit_list([(name, str(totals[name])) for name in fields], style="B"))
    return cells


def _sessions_table(pdf: Page, data: CertificateData) -> None:
    fields = [t.name for t in field_totals(data.sessions)]
    as_columns = len(fields) <= MAX_FIELD_COLUMNS
    columns = _columns(pdf, fields)
    draw_headings(pdf, columns)
    rows = [_session_cells(s, fields, as_columns) for s in data.sessions]
    if not rows:
        rows = [[[Line("")], [Line("No sessions with credit", color=MUTED)],
                 *([[Line("")]] * (len(columns) - 2))]]
    rows.append(_total_cells(data, fields, as_columns))
    laid = [lay_out(pdf, columns, cells) for cells in rows]
    totals = row_height(laid[-1])
    for i, row in enumerate(laid):
        last = i == len(laid) - 1
        need = row_height(row) + (totals if i == len(laid) - 2 else 0.0)  # no lone totals row
        if pdf.get_y() + need > pdf.bottom:
            pdf.add_page()
            draw_headings(pdf, columns)
        if last:
            pdf.rule(MARGIN_MM, MARGIN_MM + pdf.content_w, pdf.get_y(), ACCENT, 0.4)
            draw_row(pdf, columns, row, fill=TINT, rule=ACCENT, rule_w=0.4)
        else:
            draw_row(pdf, columns, row, fill=STRIPE if i % 2 else None)
    notes = []
    if any(f.adjusted is not None for s in data.sessions for f in s.fields):
        where = "beneath" if as_columns else "in brackets"
        notes.append(f"{ADJUSTED_MARK} Adjusted by the issuer; the credit earned from "
                     f"attendance is shown {where}.")
    if any(s.self_reported for s in data.sessions):
        notes.append("Self-reported: attendance reported by the attendee.")
    if notes:
        pdf.ln(1.5)
        if pdf.get_y() + 8 > pdf.bottom:
            pdf.add_page()
        pdf.text_line("   ".join(notes), size=7.5, color=MUTED, align="L")


def _closing(pdf: Page, data: CertificateData) -> None:
    """Signature and issuer on the left, verification on the right, kept together at the
    foot of the last page (on a page of their own when the table leaves no room)."""
    top = pdf.bottom - CLOSING_MM
    if pdf.get_y() + 4 > top:
        pdf.add_page()
    half = pdf.content_w / 2 - 6

    # Left: the signature line, the signature text, the issuer and sponsor id.
    x = MARGIN_MM
    line_y = top + 14
    pdf.rule(x, x + 85, line_y, INK, 0.3)
    pdf.set_y(line_y + 1.5)
    if data.signature_text:
        pdf.text_line(data.signature_text, size=9.5, style="B", align="L", width=half, x=x)
    issuer = [p for p in (data.issuer,
                          f"Sponsor ID {data.sponsor_id}" if data.sponsor_id else "") if p]
    if issuer:
        pdf.text_line(" · ".join(issuer), size=9, align="L", width=half, x=x)
    if data.issued_on is not None:
        pdf.text_line(f"Issued {format_date(data.issued_on)}", size=8, color=MUTED,
                      align="L", width=half, x=x)

    # Right: the QR code of the verification URL, with the code and URL beside it.
    qr_size = 30.0
    qr_x = pdf.w - MARGIN_MM - qr_size
    qr_y = top + CLOSING_MM - qr_size
    draw_qr(pdf, data.verification_url, qr_x, qr_y, qr_size)
    pdf.link(qr_x, qr_y, qr_size, qr_size, data.verification_url)
    text_w = half - qr_size - 4
    text_x = qr_x - 4 - text_w
    pdf.set_y(qr_y + 2)
    pdf.text_line("Verify this certificate", size=8, style="B", color=MUTED, align="R",
                  width=text_w, x=text_x, gap=1)
    pdf.text_line(format_code(data.verification_code), size=13, style="B", color=ACCENT,
                  align="R", width=text_w, x=text_x, gap=1)
    pdf.text_line(data.verification_url, size=8, color=MUTED, align="R", width=text_w,
                  x=text_x, link=data.verification_url)


