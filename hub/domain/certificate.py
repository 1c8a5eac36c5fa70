"""Certificates of continuing-education credit, as PDF.

One certificate per attendee for the event: who attended what, when, and the credits each
session earned per field of study (an admin's adjusted value shown and marked), the totals, who
issues it, and a verification code with its URL and a QR code of that URL.

Layout: landscape, A4 or US Letter (``paper``), drawn inside the area both share so either
prints without clipping. Landscape because a certificate is expected to look like one, and
because the sessions table needs the width: a column per field of study beside a readable
session title. A long table continues on further pages with its column headings repeated
and the attendee's name at the top; the signature and verification block is never split.

Text is set in DejaVu Sans/Serif, embedded (subset) from ``fonts/``, with Droid Sans Fallback
for Chinese, Japanese and Korean, so any name prints. Scripts that need shaping (Arabic,
Devanagari, ...) print their letters unjoined.

Pure: bytes in, bytes out; no files but the vendored fonts, no network, no clock (the PDF's
creation date is ``issued_on``, else the library's default).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
import segno
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from hub.domain.verification import format_code
from hub.errors import Invalid

FONTS: Final = Path(__file__).parent / "fonts"
DEFAULT_TITLE: Final = "Certificate of Continuing Education"
LOGO_MAX_BYTES: Final = 1024 * 1024
MAX_FIELD_COLUMNS: Final = 6  # more fields of study than this: one "Credits" column listing them
ADJUSTED_MARK: Final = "†"
MISSING: Final = "—"


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
    """Raise Invalid unless ``logo`` is a readable PNG or JPEG of at most 1 MiB."""
    if not logo:
        raise Invalid(field, "is empty")
    if len(logo) > LOGO_MAX_BYTES:
        raise Invalid(field, f"must be at most {LOGO_MAX_BYTES // 1024} KiB")
    if not (logo.startswith(b"\x89PNG\r\n\x1a\n") or logo.startswith(b"\xff\xd8\xff")):
        raise Invalid(field, "must be a PNG or JPEG image")
    try:
        probe = FPDF()
        probe.add_page()
        probe.image(io.BytesIO(logo), x=0, y=0, w=10)  # the renderer's own parser
    except Exception:  # any failure to read it is the uploader's problem
        raise Invalid(field, "could not be read as an image") from None


# --- Rendering --------------------------------------------------------------------------

# Colours (RGB): ink for text, the accent for the frame, title and headings.
INK: Final = (33, 37, 41)
ACCENT: Final = (28, 55, 90)
MUTED: Final = (95, 104, 115)
RULE: Final = (200, 206, 214)
TINT: Final = (237, 241, 246)
STRIPE: Final = (248, 249, 251)

# The area A4 and Letter landscape share is 279.4 x 210 mm; everything is placed relative to
# the page's own size, with margins that keep the content inside that area on either.
FRAME_MM: Final = 8.0
MARGIN_MM: Final = 18.0
CLOSING_MM: Final = 36.0  # the signature and verification block
FOOTER_MM: Final = 20.0  # from the page's bottom edge to the lowest content


def _texts(data: CertificateData) -> Iterator[str]:
    yield from (data.title, data.event_name, data.attendee_name, data.issuer, data.sponsor_id,
                data.signature_text, data.verification_url)
    for session in data.sessions:
        yield session.title
        yield from (f.name for f in session.fields)


@dataclass(frozen=True)
class _Line:
    """One styled piece of a table cell (a cell stacks one or more)."""

    text: str
    size: float = 9.0
    style: str = ""
    color: tuple[int, int, int] = INK


_Cell = Sequence[_Line]


class _Page(FPDF):
    def __init__(self, data: CertificateData) -> None:
        super().__init__(orientation="landscape", unit="mm", format=data.paper.lower())
        self.data = data
        self.add_font("sans", "", FONTS / "DejaVuSans.ttf")
        self.add_font("sans", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.add_font("sans", "I", FONTS / "DejaVuSans-Oblique.ttf")
        self.add_font("serif", "B", FONTS / "DejaVuSerif-Bold.ttf")
        # A glyph the serif lacks comes from the sans; one neither has, from the CJK font.
        fallbacks = ["sans"]
        covered = self.fonts["sans"].cmap  # type: ignore[union-attr]
        if any(ord(ch) not in covered for text in _texts(data) for ch in text
               if not ch.isspace()):
            # Parsing the 3 MB CJK font takes longer than the rest: only when it is needed.
            self.add_font("fallback", "", FONTS / "DroidSansFallback.ttf")
            fallbacks.append("fallback")
        self.set_fallback_fonts(fallbacks, exact_match=False)
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.c_margin = 0  # cells are padded by the table's own PAD_X
        self.set_auto_page_break(False)
        self.set_text_color(*INK)
        self.set_title(f"{data.title}: {data.attendee_name}")
        self.set_author(data.issuer or data.event_name)
        self.set_subject(data.event_name)
        self.set_creator("Rollcall")
        if data.issued_on is not None:
            self.set_creation_date(dt.datetime.combine(data.issued_on, dt.time(), dt.UTC))

    @property
    def content_w(self) -> float:
        return self.w - 2 * MARGIN_MM

    @property
    def bottom(self) -> float:
        return self.h - FOOTER_MM

    def header(self) -> None:
        self._frame()
        if self.page > 1:
            self.set_xy(MARGIN_MM, 14)
            self.set_font("sans", "", 8)
            self.set_text_color(*MUTED)
            self.cell(self.content_w, 5, f"{self.data.title} · {self.data.attendee_name} "
                      "· continued", align="C")
            self.set_text_color(*INK)
            self.set_y(23)

    def _frame(self) -> None:
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.9)
        self.rect(FRAME_MM, FRAME_MM, self.w - 2 * FRAME_MM, self.h - 2 * FRAME_MM)
        self.set_line_width(0.25)
        inset = FRAME_MM + 1.8
        self.rect(inset, inset, self.w - 2 * inset, self.h - 2 * inset)

    def text_line(self, text: str, *, size: float, style: str = "", family: str = "sans",
                  color: tuple[int, int, int] = INK, gap: float = 0.0,
                  width: float | None = None, x: float | None = None,
                  align: str = "C") -> None:
        """Centered (or aligned) text that wraps, then ``gap`` mm of space."""
        self.set_font(family, style, size)
        self.set_text_color(*color)
        self.set_x(MARGIN_MM if x is None else x)
        self.multi_cell(width or self.content_w, size * 0.5, text, align=align,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(gap)

    def fit_size(self, text: str, family: str, style: str, size: float, smallest: float,
                 width: float) -> float:
        """The largest size from ``size`` down to ``smallest`` at which ``text`` fits."""
        while size > smallest:
            self.set_font(family, style, size)
            if self.get_string_width(text) <= width:
                break
            size -= 0.5
        return size


def render_certificate(data: CertificateData) -> bytes:
    """The certificate as PDF bytes. Raises ValueError for a malformed verification code and
    whatever the image parser raises for an unreadable logo (check it with validate_logo)."""
    pdf = _Page(data)
    pdf.add_page()
    _opening(pdf, data)
    _sessions_table(pdf, data)
    _closing(pdf, data)
    _footers(pdf, data)
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


def _opening(pdf: _Page, data: CertificateData) -> None:
    logo_w = 0.0
    if data.logo:
        box_w, box_h = 44.0, 22.0
        info = pdf.image(io.BytesIO(data.logo), x=MARGIN_MM, y=15, w=box_w, h=box_h,
                         keep_aspect_ratio=True)
        logo_w = box_w if info is None else min(box_w, float(info.rendered_width))
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
    rule_w = 90.0
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line((pdf.w - rule_w) / 2, pdf.get_y(), (pdf.w + rule_w) / 2, pdf.get_y())
    pdf.ln(2.5)
    pdf.text_line(f"attended the sessions of {data.event_name} listed below and earned the "
                  "continuing-education credits shown.", size=10, gap=5)


@dataclass(frozen=True)
class _Column:
    heading: str
    width: float
    align: str  # "L", "C" or "R"


def _columns(pdf: _Page, fields: Sequence[str]) -> list[_Column]:
    date = _Column("Date", 29, "L")
    minutes = _Column("CE minutes", 21, "C")
    if len(fields) <= MAX_FIELD_COLUMNS:
        per = {0: 0.0, 1: 30.0, 2: 30.0, 3: 30.0, 4: 27.0, 5: 24.0}.get(len(fields), 22.0)
        extra = [_Column(name, per, "C") for name in fields]
    else:
        extra = [_Column("Credits by field of study", 110, "L")]
    used = date.width + minutes.width + sum(c.width for c in extra)
    return [date, _Column("Session", pdf.content_w - used, "L"), minutes, *extra]


def _credit_lines(field: FieldCredit | None) -> list[_Line]:
    """One field's cell in its own column: the value, or the adjusted value marked and what
    attendance earned beneath it."""
    if field is None:
        return [_Line(MISSING, color=MUTED)]
    if field.adjusted is None:
        return [_Line(format_credits(field.earned))]
    return [_Line(f"{format_credits(field.adjusted)}{ADJUSTED_MARK}", style="B"),
            _Line(f"earned {format_credits(field.earned)}", size=7, color=MUTED)]


def _credit_list(pairs: Sequence[tuple[str, str]], style: str = "") -> list[_Line]:
    """Many fields in one cell: "Nursing 1 · Ethics 0.5† (earned 0.25)", wrapping only
    between fields (the spaces inside one are non-breaking)."""
    if not pairs:
        return [_Line(MISSING, color=MUTED)]
    items = [f"{name} {value}".replace(" ", "\u00a0") for name, value in pairs]
    return [_Line(" · ".join(items), style=style)]


def _listed(field: FieldCredit) -> tuple[str, str]:
    if field.adjusted is None:
        return field.name.strip(), format_credits(field.earned)
    return field.name.strip(), (f"{format_credits(field.adjusted)}{ADJUSTED_MARK} "
                                f"(earned {format_credits(field.earned)})")


def _session_cells(session: SessionCredit, fields: Sequence[str],
                   as_columns: bool) -> list[_Cell]:
    title: list[_Line] = [_Line(session.title)]
    if session.self_reported:
        title.append(_Line("Self-reported", size=7, style="I", color=MUTED))
    cells: list[_Cell] = [
        [_Line(format_date(session.date) if session.date else MISSING)],
        title,
        [_Line(str(session.ce_minutes) if session.ce_minutes is not None else MISSING)],
    ]
    by_name = {f.name.strip(): f for f in session.fields}
    if as_columns:
        cells.extend(_credit_lines(by_name.get(name)) for name in fields)
    else:
        cells.append(_credit_list([_listed(f) for f in session.fields]))
    return cells


def _total_cells(data: CertificateData, fields: Sequence[str],
                 as_columns: bool) -> list[_Cell]:
    totals = {t.name: t.credits for t in field_totals(data.sessions)}
    minutes = total_minutes(data.sessions)
    cells: list[_Cell] = [
        [_Line("")],
        [_Line("Total", style="B")],
        [_Line(str(minutes) if minutes else MISSING, style="B")],
    ]
    if as_columns:
        cells.extend([_Line(str(totals[name]), style="B")] for name in fields)
    else:
        cells.append(_credit_list([(name, str(totals[name])) for name in fields], style="B"))
    return cells


PAD_X: Final = 2.0
PAD_Y: Final = 1.8


def _line_height(line: _Line) -> float:
    return line.size * 0.47


def _cell_lines(pdf: _Page, cell: _Cell, width: float) -> list[tuple[_Line, list[str]]]:
    out = []
    for line in cell:
        if not line.text:
            out.append((line, [""]))
            continue
        pdf.set_font("sans", line.style, line.size)
        wrapped: Any = pdf.multi_cell(width - 2 * PAD_X, _line_height(line), line.text,
                                      dry_run=True, output=MethodReturnValue.LINES)
        out.append((line, list(wrapped)))
    return out


_Laid = list[list[tuple[_Line, list[str]]]]  # per column: each line and its wrapped parts


def _lay_out(pdf: _Page, columns: Sequence[_Column], cells: Sequence[_Cell]) -> _Laid:
    return [_cell_lines(pdf, cell, column.width) for column, cell in zip(columns, cells,
                                                                           strict=True)]


def _height(laid: _Laid) -> float:
    used = (sum(_line_height(line) * len(parts) for line, parts in cell) for cell in laid)
    return max(used, default=0.0) + 2 * PAD_Y


def _draw_row(pdf: _Page, columns: Sequence[_Column], laid: _Laid, *,
              fill: tuple[int, int, int] | None = None,
              rule: tuple[int, int, int] = RULE, rule_w: float = 0.2) -> None:
    height = _height(laid)
    top = pdf.get_y()
    if fill is not None:
        pdf.set_fill_color(*fill)
        # Below the rule above (at most 0.4 mm wide, centred on ``top``), never over it.
        pdf.rect(MARGIN_MM, top + 0.2, pdf.content_w, height - 0.2, style="F")
    x = MARGIN_MM
    for column, cell in zip(columns, laid, strict=True):
        used = sum(_line_height(line) * len(parts) for line, parts in cell)
        y = top + (height - used) / 2  # vertically centred
        for line, parts in cell:
            pdf.set_font("sans", line.style, line.size)
            pdf.set_text_color(*line.color)
            for part in parts:
                pdf.set_xy(x + PAD_X, y)
                if part:
                    pdf.cell(column.width - 2 * PAD_X, _line_height(line), part,
                             align=column.align)
                y += _line_height(line)
        x += column.width
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*rule)
    pdf.set_line_width(rule_w)
    pdf.line(MARGIN_MM, top + height, MARGIN_MM + pdf.content_w, top + height)
    pdf.set_y(top + height)


def _headings(pdf: _Page, columns: Sequence[_Column]) -> None:
    # One size for all headings, at which each one's longest word fits its column (so no
    # heading breaks inside a word, and none looks louder than the others).
    size = min(pdf.fit_size(word, "sans", "B", 8, 5.5, c.width - 2 * PAD_X)
               for c in columns for word in c.heading.split() or [""])
    cells = [[_Line(c.heading, size=size, style="B", color=ACCENT)] for c in columns]
    _draw_row(pdf, columns, _lay_out(pdf, columns, cells), fill=TINT, rule=ACCENT, rule_w=0.4)


def _sessions_table(pdf: _Page, data: CertificateData) -> None:
    fields = [t.name for t in field_totals(data.sessions)]
    as_columns = len(fields) <= MAX_FIELD_COLUMNS
    columns = _columns(pdf, fields)
    _headings(pdf, columns)
    rows = [_session_cells(s, fields, as_columns) for s in data.sessions]
    if not rows:
        rows = [[[_Line("")], [_Line("No sessions with credit", color=MUTED)],
                 *([[_Line("")]] * (len(columns) - 2))]]
    rows.append(_total_cells(data, fields, as_columns))
    laid = [_lay_out(pdf, columns, cells) for cells in rows]
    totals = _height(laid[-1])
    for i, row in enumerate(laid):
        last = i == len(laid) - 1
        need = _height(row) + (totals if i == len(laid) - 2 else 0.0)  # no lone totals row
        if pdf.get_y() + need > pdf.bottom:
            pdf.add_page()
            _headings(pdf, columns)
        if last:
            pdf.set_draw_color(*ACCENT)
            pdf.set_line_width(0.4)
            pdf.line(MARGIN_MM, pdf.get_y(), MARGIN_MM + pdf.content_w, pdf.get_y())
            _draw_row(pdf, columns, row, fill=TINT, rule=ACCENT, rule_w=0.4)
        else:
            _draw_row(pdf, columns, row, fill=STRIPE if i % 2 else None)
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


def _closing(pdf: _Page, data: CertificateData) -> None:
    """Signature and issuer on the left, verification on the right, kept together at the
    foot of the last page (on a page of their own when the table leaves no room)."""
    top = pdf.bottom - CLOSING_MM
    if pdf.get_y() + 4 > top:
        pdf.add_page()
    half = pdf.content_w / 2 - 6

    # Left: the signature line, the signature text, the issuer and sponsor id.
    x = MARGIN_MM
    line_y = top + 14
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(x, line_y, x + 85, line_y)
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
    _qr(pdf, data.verification_url, qr_x, qr_y, qr_size)
    pdf.link(qr_x, qr_y, qr_size, qr_size, data.verification_url)
    text_w = half - qr_size - 4
    text_x = qr_x - 4 - text_w
    pdf.set_y(qr_y + 2)
    pdf.text_line("Verify this certificate", size=8, style="B", color=MUTED, align="R",
                  width=text_w, x=text_x, gap=1)
    pdf.text_line(format_code(data.verification_code), size=13, style="B", color=ACCENT,
                  align="R", width=text_w, x=text_x, gap=1)
    pdf.set_font("sans", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.set_x(text_x)
    pdf.multi_cell(text_w, 4, data.verification_url, align="R", link=data.verification_url,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)


def _qr(pdf: _Page, url: str, x: float, y: float, size: float) -> None:
    """The QR code as vector squares (sharp at any print size), dark runs merged per row."""
    qr = segno.make(url, error="m", micro=False)
    rows = [list(row) for row in qr.matrix_iter(border=0)]
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # A hair wider than the module so adjacent runs print without seams.
            pdf.rect(x + start * module, y + r * module, (c - start) * module + 0.02,
                     module + 0.02, style="F")


def _footers(pdf: _Page, data: CertificateData) -> None:
    """Each page's foot: the code, and the page number once there is more than one."""
    pages = pdf.page
    code = format_code(data.verification_code)
    for page in range(1, pages + 1):
        pdf.page = page
        text = f"Verification code {code}"
        if pages > 1:
            text += f" · Page {page} of {pages}"
        pdf.set_font("sans", "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(MARGIN_MM, pdf.h - FRAME_MM - 7.5)
        pdf.cell(pdf.content_w, 4, text, align="C")
    pdf.page = pages
