"""Certificates end to end over HTTP, on SQLite and PostgreSQL: the settings, one attendee's PDF
read back with pypdf (every figure checked), the code kept across downloads, the public
verification page (valid, revoked, unknown), the event's zip, and the logo's checks."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from PIL import Image
from pypdf import PdfReader
from starlette.testclient import TestClient

from hub.config import Settings
from tests.door.kit import make_attendees, make_session

YESTERDAY = dt.date.today() - dt.timedelta(days=1)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_certificate_contents_verification_and_zip(api: TestClient, settings: Settings) -> None:
    db = settings.database
    r = api.put("/api/v2/app", json={
        "name": "CPA Summit 2026", "start_date": "2026-05-14", "end_date": "2026-05-16",
        "certificate_title": "Certificate of Completion", "certificate_issuer": "State CPA Society",
        "certificate_sponsor_id": "NASBA 108123", "certificate_signature": "Dana Director, CPE"})
    assert r.status_code == 200, r.text
    assert api.put("/api/v2/app/certificate-logo", content=png(),
                   headers={"content-type": "image/png"}).status_code == 200
    bad = api.put("/api/v2/app/certificate-logo", content=b"not an image",
                  headers={"content-type": "image/png"})
    assert (bad.status_code, bad.json()["reason"]) == (422, "invalid")
    assert api.get("/api/v2/app").json()["data"]["certificate_logo"] is True

    ethics = make_session(db, name="Ethics in Practice", date=YESTERDAY, start_time=dt.time(9),
                          end_time=dt.time(10), ce_minutes=60,
                          fields=[("Ethics", "1.5", []), ("Taxes", "1", [])])
    tax = make_session(db, name="Tax Update", date=YESTERDAY, start_time=dt.time(11),
                       end_time=dt.time(11, 50), ce_minutes=50, fields=[("Taxes", "2", [])])
    make_session(db, name="Networking lunch", date=YESTERDAY, start_time=dt.time(12))
    make_attendees(db, 2)
    assert api.post(f"/api/v2/sessions/{ethics}/attendance/checkin",
                    json={"external_id": "A0001"}).status_code == 200
    assert api.post(f"/api/v2/sessions/{ethics}/attendance/credits",
                    json={"external_id": "A0001", "field": "taxes", "credits": 0.5,
                          "note": "left early"}).status_code == 200
    assert api.post(f"/api/v2/sessions/{tax}/attendance/self-report",
                    json={"external_id": "A0001"}).status_code == 200

    r = api.get("/api/v2/attendees/A0001/certificate.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    code = re.search(r"certificate-first1-last1-([0-9A-Z]{12})\.pdf",
                     r.headers["content-disposition"]).group(1)  # type: ignore[union-attr]
    shown = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    text = pdf_text(r.content)
    for expected in ("Certificate of Completion", "CPA Summit 2026", "14–16 May 2026",
                     "First1 Last1", "State CPA Society", "NASBA 108123", "Dana Director, CPE",
                     "Ethics in Practice", "Tax Update", "Self-reported", shown,
                     f"http://testserver/verify/{shown}"):
        assert expected in text, (expected, text)
    assert "Networking lunch" not in text  # no credit there
    # Ethics 1.5; Taxes adjusted to 0.5 (earned 1) and 2 self-reported: 2.5; minutes 60 + 50.
    assert re.search(r"Ethics in Practice .*60 1\.5 0\.5†", text), text
    assert re.search(r"Tax Update .*50 .*2", text), text
    assert re.search(r"Total 110 1\.5 2\.5", text), text
    again = api.get("/api/v2/attendees/A0001/certificate.pdf")
    assert code in again.headers["content-disposition"]  # the code is kept

    none = api.get("/api/v2/attendees/A0002/certificate.pdf")
    assert (none.status_code, none.json()["reason"]) == (404, "no_credit")
    assert api.get("/api/v2/attendees/nobody/certificate.pdf").status_code == 404

    page = api.get(f"/verify/{shown.lower()}")
    assert page.status_code == 200
    assert "Valid certificate" in page.text and "First1 Last1" in page.text
    assert "CPA Summit 2026" in page.text
    assert "<th scope=\"row\">Ethics</th><td>1.5</td>" in page.text
    assert "<th scope=\"row\">Taxes</th><td>2.5</td>" in page.text
    assert "a0001@" not in page.text.lower()  # nothing else about the holder
    unknown = api.get("/verify/0000-0000-0000")
    assert unknown.status_code == 404 and "No certificate has this code" in unknown.text
    assert api.get("/verify/not-a-code").status_code == 404

    with api.stream("GET", "/api/v2/certificates.zip") as z:
        assert z.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(z.read()))
    [name] = archive.namelist()
    assert name == f"certificate-first1-last1-{code}.pdf"
    assert "Tax Update" in pdf_text(archive.read(name))

    assert api.post("/api/v2/attendees/A0001/certificate/revoke",
                    json={"revoked": True}).status_code == 200
    assert "was revoked" in api.get(f"/verify/{shown}").text
    assert api.get("/api/v2/attendees/A0001/certificate.pdf").status_code == 403
    assert api.post("/api/v2/attendees/A0002/certificate/revoke",
                    json={}).status_code == 404
