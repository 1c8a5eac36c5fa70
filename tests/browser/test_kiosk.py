"""The kiosk: staff open it on a tablet, which then stays locked to the session; attendees
find their name, tap once, are checked in without any code, and the screen resets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_kiosk_one_tap_checkin_without_codes_then_reset(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    sid = seeded.session(name="Ethics in Practice", location="Ballroom A",
                         checkin_required=True, checkin_code="SECRET")
    seeded.attendees([
        {"external_id": "J-1", "first_name": "Jordan", "last_name": "Example",
         "email": "jordan@example.com", "sessions": [sid]},
        {"external_id": "J-2", "first_name": "Jordan", "last_name": "<b>Bold</b>",
         "email": "bold@example.com", "sessions": [sid]},
        {"external_id": "J-3", "first_name": "Jordan", "last_name": "Elsewhere",
         "email": "else@example.com"},  # not registered here: not offered
    ])
    email, password = seeded.staff("door@example.com", "scan")

    tablet = new_page(width=820, height=1180)
    tablet.goto(f"/kiosk/{sid}")
    sign_in(tablet, email, password)
    search = tablet.locator("#q")
    expect(search).to_be_visible()

    # Locked: the tablet holds a kiosk cookie only, not the staff login.
    who = tablet.request.get("/auth/me").json()["data"]
    assert who["staff"] is None and who["kiosk"] == {"session_id": sid}

    search.fill("jord")
    people = tablet.locator("#people button")
    expect(people).to_have_count(2)
    expect(people.nth(0)).to_contain_text("Jordan <b>Bold</b>")  # shown as text, not HTML
    shoot(tablet, artifacts, "kiosk-search")
    tablet.locator("#people button", has_text="Jordan Example").click()
    expect(tablet.locator("#kiosk-title")).to_have_text("Welcome, Jordan Example!")
    shoot(tablet, artifacts, "kiosk-welcome")

    records = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert [(r["user"]["external_id"], r["checkin_source"]) for r in records] == [("J-1", "kiosk")]

    # The screen resets by itself for the next person.
    expect(search).to_be_visible(timeout=10_000)
    expect(search).to_have_value("")
    expect(tablet.locator("#people button")).to_have_count(0)
