"""Self-reporting ("Add a session I attended", with the session's code) and codewords, the
status line's action link to claim CE credit, and the certificate that lists the session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import Seeded, shoot

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def test_self_report_then_codewords_and_credit_link(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    seeded.api("PUT", "/app", {"custom_attendee_field_1": "Registration ID"})
    sid = seeded.session(
        name="Tax Update 2026", date=YESTERDAY, start_time="10:30", end_time="11:45",
        checkin_code="TAX26", capacity=0,
        delivery_format="hybrid", credit_url="https://ce.example.com/claim?s=tax",
        fields_of_study=[{"name": "Taxes", "credits": "1.5", "codewords": ["ledger"]}],
    )
    seeded.session(name="Keynote", date=YESTERDAY, start_time="09:00")
    seeded.session(name="Tomorrow's closing", date=TOMORROW, start_time="09:00")
    seeded.attendees([{"external_id": "V-1", "first_name": "Val", "last_name": "Remote",
                       "email": "val@example.com", "field_1": "REG-9"}])

    page = new_page()
    page.goto("/")
    page.click("#self-report")
    page.fill("#identifier", "reg-9")  # the Registration ID works as well as the email
    page.click("#identify button[type=submit]")
    form = page.locator(f"form[data-session='{sid}']")
    # Every session that has started is listed, whatever its settings (this one is full).
    expect(page.locator("form[data-session]")).to_have_count(2)
    form.locator(f"#code-{sid}").fill("nope")
    form.locator("button[type=submit]").click()
    expect(form.locator("[role=status]")).to_have_text("That check-in code is not right.")
    form.locator(f"#code-{sid}").fill("tax26")
    form.locator(f"#fmt-{sid}").select_option("virtual")
    form.locator("button[type=submit]").click()
    expect(form.locator("[role=status]")).to_have_text("Added to your attendance.")
    shoot(page, artifacts, "self-report")

    [record] = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert (record["checkin_source"], record["delivery_format"]) == ("self-report", "virtual")
    assert record["in_room"] is False and record["total_time_attended"] == "01:15:00"

    page.goto(f"/sessions/{sid}")
    expect(page.locator("#status-text")).to_contain_text("Checked out at")
    expect(page.locator("#session-status-text")).to_have_text("Your CE credit is ready to claim")
    link = page.locator("#session-status-action")
    expect(link).to_have_text("Claim CE credit")
    expect(link).to_have_attribute("href", "https://ce.example.com/claim?s=tax")
    # a self-report is a completed record, not a presence: the page offers no check-in
    expect(page.locator("#checkin")).to_have_count(0)
    page.fill("#codeword", "wrong")
    page.click("#codeword-form button[type=submit]")
    expect(page.locator("#codeword-form [role=status]")).to_have_text(
        "That codeword is not one of this session's codewords.")
    page.fill("#codeword", "LEDGER")
    page.click("#codeword-form button[type=submit]")
    expect(page.locator("#codeword-form [role=status]")).to_have_text("Codeword accepted.")
    shoot(page, artifacts, "codeword")
    [record] = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert record["fields_of_study"][0]["codewords"]["valid_list"] == ["ledger"]

    # Back on the schedule: the session shows as self-reported, and the certificate lists it.
    page.goto("/")
    item = page.locator("ul.schedule li", has_text="Tax Update 2026")
    expect(item.locator(".pill.attended")).to_have_text("Self-reported")
    with page.expect_download() as got:
        page.click("#certificate")
    pdf = got.value.path()
    assert pdf is not None
    text = " ".join(" ".join((p.extract_text() or "").split())
                    for p in PdfReader(str(pdf)).pages)
    assert "Val Remote" in text and "Tax Update 2026" in text and "Self-reported" in text
    assert "Keynote" not in text  # attended nothing there
    shoot(page, artifacts, "certificate-link")
