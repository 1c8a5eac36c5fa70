"""Certificate data for the tests and the picture in docs/ (``python -m tests.domain.samples
OUT.pdf`` writes the sample certificate)."""

from __future__ import annotations

import datetime as dt
import math
import struct
import sys
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from hub.domain.certificate import CertificateData, FieldCredit, SessionCredit

RGB = tuple[int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], RGB]) -> bytes:
    """A truecolour PNG drawn by ``pixel(x, y)``, with the standard library only."""
    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


@cache
def logo_png() -> bytes:
    """A small emblem: a navy disc with a white ring and a gold centre, on white."""
    size = 160
    c = (size - 1) / 2

    def pixel(x: int, y: int) -> RGB:
        r = math.hypot(x - c, y - c)
        if r > 78:
            return (255, 255, 255)
        if 58 < r < 64:
            return (255, 255, 255)
        if r < 30:
            return (201, 162, 39)
        return (28, 55, 90)

    return png(size, size, pixel)


def sample() -> CertificateData:
    """Four sessions: an adjusted value, a self-reported session, a field only some sessions
    have, and a session without CE minutes."""
    return CertificateData(
        title="Certificate of Continuing Education",
        event_name="Northern Clinical Practice Conference 2026",
        event_start=dt.date(2026, 5, 14),
        event_end=dt.date(2026, 5, 16),
        attendee_name="Zoë Ødegård",
        issuer="Nordic Society of Clinical Practice",
        sponsor_id="NSCP-4471",
        signature_text="Dr. Łukasz Nowak, Director of Continuing Education",
        verification_code="7KQ2M9XD4HTR",
        verification_url="https://attend.nscp.example/verify/7KQ2M9XD4HTR",
        issued_on=dt.date(2026, 5, 20),
        logo=logo_png(),
        sessions=(
            SessionCredit(
                title="Opening keynote: Evidence at the bedside",
                date=dt.date(2026, 5, 14), ce_minutes=60,
                fields=(FieldCredit("Nursing", 1), FieldCredit("Pharmacology", 0.5))),
            SessionCredit(
                title="Antibiotic stewardship in primary care: what changed in 2026",
                date=dt.date(2026, 5, 14), ce_minutes=90,
                fields=(FieldCredit("Nursing", 1.25, adjusted=1.75),
                        FieldCredit("Pharmacology", 1.5))),
            SessionCredit(
                title="Ethics round table: consent and capacity",
                date=dt.date(2026, 5, 15), ce_minutes=45, self_reported=True,
                fields=(FieldCredit("Ethics", 0.75),)),
            SessionCredit(
                title="José Álvarez: Wound care workshop",
                date=dt.date(2026, 5, 16), ce_minutes=None,
                fields=(FieldCredit("Nursing", 2), FieldCredit("Ethics", 0.25))),
        ),
    )


if __name__ == "__main__":
    from hub.domain.certificate import render_certificate

    Path(sys.argv[1]).write_bytes(render_certificate(sample()))
