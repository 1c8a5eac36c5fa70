"""The staff scanner: typed badge IDs, an admission, a refusal with its reason, an override
with a reason by staff holding that permission, and a scanner that never stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def scan(page: Any, badge: str) -> None:
    page.fill("#badge", badge)
    page.press("#badge", "Enter")


def test_scanner_admits_refuses_and_overrides(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    sid = seeded.session(name="Leadership Roundtable", location="Room 103", capacity=5,
                         registrants_only=True, start_time="13:15", end_time="14:30")
    seeded.attendees([
        {"external_id": "R-1", "first_name": "Pat", "last_name": "Registered",
         "badge_id": "B-100", "sessions": [sid]},
        {"external_id": "W-1", "first_name": "Sam", "last_name": "Walkin", "badge_id": "B-200"},
    ])
    email, password = seeded.staff("lead@example.com", "scan", "override")

    page = new_page()
    page.goto(f"/staff/scan?session={sid}")
    sign_in(page, email, password)
    expect(page.locator("#session-name")).to_have_text("Leadership Roundtable")
    expect(page.locator("#c-in-room")).to_have_text("0")
    result = page.locator("#result")

    scan(page, "B-100")
    expect(result).to_have_attribute("data-outcome", "admitted")
    expect(result).to_contain_text("Admitted: Pat Registered")
    expect(page.locator("#c-in-room")).to_have_text("1")

    scan(page, "B-200")
    expect(result).to_have_attribute("data-outcome", "refused")
    expect(page.locator("#result-why")).to_have_text(
        "Only registered attendees may enter this session.")
    expect(page.locator("#override")).to_be_visible()
    shoot(page, artifacts, "scanner", readme=True)

    page.click("#override")
    page.fill("#override-reason", "Speaker's guest")
    page.click("#override-form button[type=submit]")
    expect(result).to_have_attribute("data-outcome", "admitted")
    expect(result).to_contain_text("Admitted (override): Sam Walkin")
    expect(page.locator("#c-in-room")).to_have_text("2")
    shoot(page, artifacts, "scanner-override")

    # An unknown badge is refused and the scanner carries on.
    scan(page, "NOPE-999")
    expect(result).to_have_attribute("data-outcome", "refused")
    expect(page.locator("#result-why")).to_have_text("Attendee not recognised.")
    expect(page.locator("#override-box")).to_be_hidden()
    page.check("input[name=mode][value=checkout]")
    scan(page, "B-100")
    expect(result).to_contain_text("Checked out: Pat Registered")
    expect(page.locator("#c-in-room")).to_have_text("1")

    rows = seeded.api("GET", f"/sessions/{sid}/attendance")
    records = {r["user"]["external_id"]: r for r in rows}
    assert records["W-1"]["checkin_source"] == "scan"
    assert [o["reason"] for o in records["W-1"]["overrides"]] == ["Speaker's guest"]


def test_scanner_without_override_permission_shows_no_override(
    seeded: Seeded, new_page: Any
) -> None:
    sid = seeded.session(name="Members only", registrants_only=True)
    seeded.attendees([{"external_id": "W-1", "first_name": "Sam", "last_name": "Walkin",
                       "badge_id": "B-200"}])
    email, password = seeded.staff("door@example.com", "scan")
    page = new_page()
    page.goto(f"/staff/scan?session={sid}")
    sign_in(page, email, password)
    scan(page, "B-200")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "refused")
    expect(page.locator("#override-box")).to_be_hidden()


def test_scans_without_a_connection_are_decided_here_and_sent_later(
    seeded: Seeded, new_page: Any
) -> None:
    sid = seeded.session(name="Basement Room")
    seeded.attendees([{"external_id": "R-1", "first_name": "Pat", "last_name": "Registered",
                       "badge_id": "B-100", "sessions": [sid]}])
    email, password = seeded.staff("door@example.com", "scan")
    page = new_page()
    page.goto(f"/staff/scan?session={sid}")
    sign_in(page, email, password)
    expect(page.locator("#c-in-room")).to_have_text("0")
    expect(page.locator("#doorlist-status")).to_have_text("Door list: 1 attendee")

    # Single check-ins do not get through; the door list decides, and the queue goes up
    # through the batch endpoint (docs/offline.md; tests/browser/test_offline_scanner.py).
    page.route("**/attendance/checkin", lambda route: route.abort("internetdisconnected"))
    scan(page, "B-100")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "admitted")
    expect(page.locator("#result")).to_contain_text("Admitted (offline): Pat Registered")
    expect(page.locator("#pending")).to_be_hidden(timeout=15_000)
    expect(page.locator("#recent")).to_contain_text("B-100: uploaded, checked in")
    expect(page.locator("#c-in-room")).to_have_text("1")
    scan(page, "NOPE-1")  # the scanner goes on meanwhile, refusing from its list
    expect(page.locator("#result")).to_have_attribute("data-outcome", "refused")
    expect(page.locator("#result-why")).to_contain_text("Attendee not recognised.")
    [record] = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert record["checkin_source"] == "scan" and len(record["history"]) == 1
