"""The certificate as an attendee and a CE sponsor read it: every figure, read back from the
PDF's text."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import msgspec
import pypdf
import pytest

from hub.domain.certificate import (
    CertificateData,
    FieldCredit,
    FieldTotal,
    SessionCredit,
    field_totals,
    filename_for,
    format_date_range,
    number,
    render_certificate,
    render_many,
    total_minutes,
    validate_logo,
)
from hub.errors import Invalid
from tests.domain.samples import logo_png, png, sample


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text as a reader copies it (non-breaking spaces read as spaces)."""
    return [page.extract_text().replace("\u00a0", " ")
            for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def text_of(pdf: bytes) -> str:
    return "\n".join(pages_of(pdf))


def row(text: str, title: str) -> str:
    """The one line of the sessions table that holds ``title``."""
    lines = [line for line in text.splitlines() if title in line]
    assert len(lines) == 1, (title, lines)
    return lines[0]


# --- The sample certificate, figure by figure ----------------------------------------------

@pytest.fixture(scope="module")
def sample_text() -> str:
    return text_of(render_certificate(sample()))


def test_names_the_event_and_the_attendee(sample_text: str) -> None:
    lines = sample_text.splitlines()
    assert lines[0] == "Certificate of Continuing Education"
    assert "Northern Clinical Practice Conference 2026" in lines
    assert "14–16 May 2026" in lines
    assert lines[lines.index("This certifies that") + 1] == "Zoë Ødegård"


def test_every_session_with_its_date_minutes_and_credits(sample_text: str) -> None:
    assert row(sample_text, "Date Session") == (
        "Date Session CE minutes Nursing Pharmacology Ethics")
    assert row(sample_text, "Opening keynote") == (
        "14 May 2026 Opening keynote: Evidence at the bedside 60 1 0.5 —")
    # The admin's adjusted value, marked, with what attendance earned beneath it.
    assert row(sample_text, "Antibiotic stewardship") == (
        "14 May 2026 Antibiotic stewardship in primary care: what changed in 2026 90 "
        "1.75† earned 1.25 1.5 —")
    assert row(sample_text, "Ethics round table") == (
        "15 May 2026 Ethics round table: consent and capacity Self-reported 45 — — 0.75")
    # A session without CE minutes, and a non-Latin title.
    assert row(sample_text, "José Álvarez") == (
        "16 May 2026 José Álvarez: Wound care workshop — 2 — 0.25")


def test_totals_per_field_use_the_adjusted_values(sample_text: str) -> None:
    # Nursing 1 + 1.75 (adjusted from 1.25) + 2; Pharmacology 0.5 + 1.5; Ethics 0.75 + 0.25.
    assert row(sample_text, "Total") == "Total 195 4.75 2 1"


def test_explains_its_marks(sample_text: str) -> None:
    assert "† Adjusted by the issuer; the credit earned from attendance is shown beneath." \
        in sample_text
    assert "Self-reported: attendance reported by the attendee." in sample_text


def test_issuer_signature_and_verification(sample_text: str) -> None:
    lines = sample_text.splitlines()
    assert "Dr. Łukasz Nowak, Director of Continuing Education" in lines
    assert "Nordic Society of Clinical Practice · Sponsor ID NSCP-4471" in lines
    assert "Issued 20 May 2026" in lines
    assert "7KQ2-M9XD-4HTR" in lines
    assert "https://attend.nscp.example/verify/7KQ2M9XD4HTR" in lines
    assert lines[-1] == "Verification code 7KQ2-M9XD-4HTR"  # one page: no page numbers


def test_one_page_with_the_logo_and_links_to_the_verification_page() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_certificate(sample())))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert len(page.images) == 1
    links = {a.get_object()["/A"]["/URI"] for a in page.get("/Annots", [])}
    assert links == {"https://attend.nscp.example/verify/7KQ2M9XD4HTR"}  # the QR and the URL
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Certificate of Continuing Education: Zoë Ødegård"
    assert meta.author == "Nordic Society of Clinical Practice"


def test_without_logo_or_optional_lines() -> None:
    data = msgspec.structs.replace(sample(), logo=None, issuer="", sponsor_id="",
                                   signature_text="", issued_on=None, event_start=None,
                                   event_end=None)
    pdf = render_certificate(data)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images) == 0
    text = text_of(pdf)
    for gone in ("Sponsor ID", "Issued", "Nordic Society", "May 2026 –", "14–16 May"):
        assert gone not in text
    assert "Total 195 4.75 2 1" in text


def test_a4_or_letter_landscape() -> None:
    def size(paper: str) -> tuple[float, float]:
        data = msgspec.structs.replace(sample(), paper=paper)
        box = pypdf.PdfReader(io.BytesIO(render_certificate(data))).pages[0].mediabox
        return round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)

    assert size("A4") == (297, 210)
    assert size("Letter") == (279, 216)


def test_the_same_certificate_twice_is_the_same_file() -> None:
    assert render_certificate(sample()) == render_certificate(sample())


# --- Names in any script ----------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Zoë Ødegård", "José", "Łukasz Żółkiewski", "Nguyễn Thị Minh Khai", "Юлия Смирнова",
    "Ἀθηνᾶ Παππᾶ", "李小龍", "山田 たろう", "김민준", "O'Brien-Smith",
])
def test_any_name_prints(name: str) -> None:
    data = msgspec.structs.replace(sample(), attendee_name=name,
                                   sessions=(SessionCredit(title=f"Masterclass · {name}",
                                                           fields=(FieldCredit("CE", 1),)),))
    text = text_of(render_certificate(data))
    assert name in text.splitlines()
    assert f"Masterclass · {name}" in text


def test_cjk_glyphs_come_from_the_embedded_fallback_font() -> None:
    def fonts(data: CertificateData) -> set[str]:
        page = pypdf.PdfReader(io.BytesIO(render_certificate(data))).pages[0]
        return {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}

    assert not any("DroidSansFallback" in f for f in fonts(sample()))
    cjk = msgspec.structs.replace(sample(), attendee_name="李小龍")
    assert any("DroidSansFallback" in f for f in fonts(cjk))


# --- Many sessions ------------------------------------------------------------------------

def sixty_sessions() -> CertificateData:
    sessions = tuple(
        SessionCredit(
            title=f"Case review {i:02d}",
            date=dt.date(2026, 5, 14) + dt.timedelta(days=i // 20),
            ce_minutes=30 + i,
            self_reported=i % 9 == 0,
            fields=(FieldCredit("Nursing", 0.5),
                    FieldCredit("Ethics", 0.25, adjusted=0.5 if i % 10 == 0 else None)))
        for i in range(60))
    return msgspec.structs.replace(sample(), sessions=sessions)


def test_sixty_sessions_paginate_with_headings_on_every_page() -> None:
    pages = pages_of(render_certificate(sixty_sessions()))
    assert len(pages) > 2
    text = "\n".join(pages)
    for i in range(60):
        day = 14 + i // 20
        minutes = 30 + i
        ethics = "0.5† earned 0.25" if i % 10 == 0 else "0.25"
        reported = " Self-reported" if i % 9 == 0 else ""
        assert row(text, f"Case review {i:02d}") == (
            f"{day} May 2026 Case review {i:02d}{reported} {minutes} 0.5 {ethics}")
    # 30 + ... + 89 minutes; 60 x 0.5 Nursing; 60 x 0.25 Ethics + 6 adjustments of +0.25.
    assert row(text, "Total") == "Total 3570 30 16.5"
    for n, page in enumerate(pages, start=1):
        if n > 1:
            assert page.splitlines()[0] == (
                "Certificate of Continuing Education · Zoë Ødegård · continued")
        assert page.splitlines()[-1] == f"Verification code 7KQ2-M9XD-4HTR · Page {n} of " \
            f"{len(pages)}"
        if any("Case review" in line for line in page.splitlines()):
            assert "Date Session CE minutes Nursing Ethics" in page.splitlines()
    # The totals row never stands alone: the last session is on the same page.
    last = pages.index(next(p for p in pages if "Total 3570" in p))
    assert "Case review 59" in pages[last]
    # The signature and verification block is whole, on the last page.
    assert "7KQ2-M9XD-4HTR" in pages[-1].splitlines()
    assert "Dr. Łukasz Nowak, Director of Continuing Education" in pages[-1]


def test_more_fields_than_columns_list_them_per_session() -> None:
    names = ["Nursing", "Pharmacy", "Ethics", "Medicine", "Social work", "Dentistry",
             "Psychology"]
    data = msgspec.structs.replace(sample(), sessions=(
        SessionCredit(title="Grand rounds", ce_minutes=60,
                      fields=tuple(FieldCredit(n, 1 + i / 4, adjusted=3 if i == 4 else None)
                                   for i, n in enumerate(names))),
        SessionCredit(title="Workshop", ce_minutes=30,
                      fields=(FieldCredit("Nursing", 0.5, adjusted=1),)),
    ))
    pages = pages_of(render_certificate(data))
    assert len(pages) == 1
    text = pages[0]
    assert row(text, "Date Session") == "Date Session CE minutes Credits by field of study"
    assert row(text, "Grand rounds") == (
        "— Grand rounds 60 Nursing 1 · Pharmacy 1.25 · Ethics 1.5 · Medicine 1.75 · "
        "Social work 3† (earned 2) · Dentistry 2.25 · Psychology 2.5")
    assert row(text, "Workshop") == "— Workshop 30 Nursing 1† (earned 0.5)"
    assert row(text, "Total") == (
        "Total 90 Nursing 2 · Pharmacy 1.25 · Ethics 1.5 · Medicine 1.75 · Social work 3 · "
        "Dentistry 2.25 · Psychology 2.5")
    assert "† Adjusted by the issuer; the credit earned from attendance is shown in " \
        "brackets." in text


def test_no_sessions_still_renders() -> None:
    data = msgspec.structs.replace(sample(), sessions=())
    text = text_of(render_certificate(data))
    assert "No sessions with credit" in text
    assert "Total —" in text


# --- Pure helpers -------------------------------------------------------------------------

def test_numbers_read_like_the_api() -> None:
    assert number(2.0) == 2 and isinstance(number(2.0), int)
    assert number(1.5) == 1.5
    assert number(1 / 3) == 0.33
    assert number(0.1 + 0.2) == 0.3
    assert number(1.999) == 2 and isinstance(number(1.999), int)


def test_totals_sum_awarded_credits_per_field() -> None:
    sessions = [
        SessionCredit(title="a", ce_minutes=60,
                      fields=(FieldCredit("Nursing", 1), FieldCredit("Ethics", 0.1))),
        SessionCredit(title="b", ce_minutes=None,
                      fields=(FieldCredit("Ethics", 0.2), FieldCredit("Nursing ", 1,
                                                                       adjusted=0))),
        SessionCredit(title="c", ce_minutes=45, fields=(FieldCredit("Ethics", 1,
                                                                     adjusted=0.7),)),
    ]
    assert field_totals(sessions) == (FieldTotal("Nursing", 1), FieldTotal("Ethics", 1))
    assert total_minutes(sessions) == 105
    assert field_totals([]) == ()


@pytest.mark.parametrize(("start", "end", "shown"), [
    (dt.date(2026, 5, 14), dt.date(2026, 5, 16), "14–16 May 2026"),
    (dt.date(2026, 5, 14), dt.date(2026, 5, 14), "14 May 2026"),
    (dt.date(2026, 5, 14), None, "14 May 2026"),
    (None, None, ""),
    (dt.date(2026, 5, 30), dt.date(2026, 6, 2), "30 May – 2 June 2026"),
    (dt.date(2026, 12, 30), dt.date(2027, 1, 2), "30 December 2026 – 2 January 2027"),
])
def test_event_dates(start: dt.date | None, end: dt.date | None, shown: str) -> None:
    assert format_date_range(start, end) == shown


def test_filenames_are_ascii_and_unique() -> None:
    assert filename_for(sample()) == "certificate-zoe-odegard-7KQ2M9XD4HTR.pdf"
    cjk = msgspec.structs.replace(sample(), attendee_name="李小龍")
    assert filename_for(cjk) == "certificate-7KQ2M9XD4HTR.pdf"
    polish = msgspec.structs.replace(sample(), attendee_name="Łukasz  Żółć")
    assert filename_for(polish) == "certificate-lukasz-zolc-7KQ2M9XD4HTR.pdf"


def test_render_many_yields_one_named_pdf_each() -> None:
    people = [msgspec.structs.replace(sample(), attendee_name=n, verification_code=c)
              for n, c in [("Ana Lima", "AAAABBBBCCCC"), ("Ben Ode", "DDDDEEEEFFFF"),
                           ("Ben Ode", "DDDDEEEEFFFF")]]
    out = list(render_many(people))
    assert [name for name, _ in out] == [
        "certificate-ana-lima-AAAABBBBCCCC.pdf", "certificate-ben-ode-DDDDEEEEFFFF.pdf",
        "certificate-ben-ode-DDDDEEEEFFFF-2.pdf"]
    assert "Ana Lima" in text_of(out[0][1]).splitlines()
    assert "DDDD-EEEE-FFFF" in text_of(out[2][1]).splitlines()


def test_logos_are_checked_before_they_are_stored() -> None:
    validate_logo(logo_png())
    with pytest.raises(Invalid, match="logo: must be a PNG or JPEG image"):
        validate_logo(b"GIF89a" + b"\x00" * 20)
    with pytest.raises(Invalid, match="logo: could not be read as an image"):
        validate_logo(logo_png()[:60])
    with pytest.raises(Invalid, match="logo: is empty"):
        validate_logo(b"")
    noise = png(700, 700, lambda x, y: (zlib.crc32(bytes([x % 256, y % 256, x // 256])) % 256,
                                        x % 256, y % 256))
    assert len(noise) > 1024 * 1024
    with pytest.raises(Invalid, match="logo: must be at most 1024 KiB"):
        validate_logo(noise)
    # 9000 x 9000 pixels of white compress to a few hundred KiB: refused before decoding.
    huge = png_header_only(9000, 9000)
    with pytest.raises(Invalid, match="logo: must be at most 4000 pixels wide and high"):
        validate_logo(huge)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares its size but holds one row of pixels (never read: the check on the
    declared size comes first)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" + b"\xff" * 3 * width)) + chunk(b"IEND", b""))
