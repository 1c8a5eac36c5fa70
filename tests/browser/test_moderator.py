"""Moderators without a staff account: the session's (or the event's) moderator password opens
the dashboards; a wrong one is refused with the reason and no data."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_moderator_passwords_open_the_dashboards(seeded: Seeded, new_page: Any) -> None:
    seeded.api("PUT", "/app", {"moderator_password": "event-mods"})
    sid = seeded.session(name="Panel", moderator_password="panel-mods", capacity=9,
                         checkin_required=True)
    seeded.attendees([{"external_id": "M-1", "first_name": "Mo", "last_name": "Derated",
                       "badge_id": "B-M1", "sessions": [sid]},
                      {"external_id": "M-2", "first_name": "Mia", "last_name": "Both",
                       "email": "mo@example.com", "sessions": [sid]}])
    seeded.api("POST", f"/sessions/{sid}/attendance/checkin", {"badge_id": "B-M1"})

    page = new_page(width=1024)
    page.goto(f"/sessions/{sid}/dashboard")
    page.fill("#moderator-password", "not-it")
    page.click("#moderator-form button[type=submit]")
    expect(page.locator("#live")).to_have_attribute("data-state", "stopped")
    expect(page.locator("[role=alert]")).to_contain_text("Wrong moderator password")
    expect(page.locator("#n-in-room")).to_have_text("–")  # no data on a refused handshake

    page.click("text=Sign in again")
    page.fill("#moderator-password", "panel-mods")
    page.click("#moderator-form button[type=submit]")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    expect(page.locator("#n-in-room")).to_have_text("1")
    expect(page.locator("#n-remaining")).to_have_text("8")
    expect(page.locator("#feed li").first).to_contain_text("Mo Derated arrived")

    # A moderator who signed in as an attendee in this browser earlier: the attendee cookie
    # does not stand in the way of the password (it used to close the socket with 4403).
    both = new_page(width=1024)
    both.goto(f"/sessions/{sid}")
    both.fill("#identifier", "mo@example.com")
    both.click("#identify button[type=submit]")
    expect(both.locator("#status-text")).to_have_text("Not checked in yet")
    both.goto(f"/sessions/{sid}/dashboard")
    both.fill("#moderator-password", "panel-mods")
    both.click("#moderator-form button[type=submit]")
    expect(both.locator("#live")).to_have_attribute("data-state", "live")
    expect(both.locator("#n-in-room")).to_have_text("1")

    event = new_page(width=1024)
    event.goto("/staff/dashboard")
    event.fill("#moderator-password", "event-mods")
    event.click("#moderator-form button[type=submit]")
    expect(event.locator("#live")).to_have_attribute("data-state", "live")
    expect(event.locator(f"tr[data-session='{sid}'] td[data-col=in_room]")).to_have_text("1")
