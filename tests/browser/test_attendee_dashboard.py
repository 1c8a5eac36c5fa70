"""An attendee checks in with the session's code on their phone while a moderator's dashboard,
in another browser, shows the new count and the arrival live, without a reload."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_attendee_checks_in_and_out_while_the_dashboard_watches(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    sid = seeded.session(
        name="Opening Keynote: The Future of Audit", location="Main Hall",
        date=dt.date.today().isoformat(), start_time="09:00", end_time="10:00",
        checkin_required=True, checkin_code="ROOM42", checkout_required=True, capacity=40,
    )
    seeded.session(name="Another session", date=dt.date.today().isoformat(), start_time="11:00")
    people = [{"external_id": "A-1", "first_name": "Alex", "last_name": "Example",
               "email": "alex@example.com", "badge_id": "B-1", "sessions": [sid]}]
    firsts = ["Sam", "Noor", "Mateo", "Yuki", "Priya", "Olu", "Ines", "Lars", "Mei", "Rowan",
              "Dana", "Quinn"]
    people += [{"external_id": f"P-{i}", "first_name": first, "last_name": "Delegate",
                "email": f"p{i}@example.com", "badge_id": f"B-P{i}", "sessions": [sid]}
               for i, first in enumerate(firsts)]
    seeded.attendees(people)
    email, password = seeded.staff("moderator@example.com", "moderate")

    board = new_page(width=1280, height=900)
    board.goto(f"/sessions/{sid}/dashboard")
    sign_in(board, email, password)
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    expect(board.locator("#n-registered")).to_have_text("13")
    expect(board.locator("#n-in-room")).to_have_text("0")

    # The door has been busy for twenty minutes (scans uploaded with their own times), and
    # two people stepped out: the dashboard's charts get a past.
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=24)
    for i in range(9):
        at = start + dt.timedelta(minutes=[0, 1, 1, 2, 4, 7, 11, 16, 20][i])
        seeded.api("POST", f"/sessions/{sid}/attendance/checkin",
                   {"badge_id": f"B-P{i}", "timestamp": at.isoformat()})
    for i in (1, 4):
        at = start + dt.timedelta(minutes=18 + i)
        seeded.api("POST", f"/sessions/{sid}/attendance/checkout",
                   {"badge_id": f"B-P{i}", "timestamp": at.isoformat()})
    expect(board.locator("#n-in-room")).to_have_text("7")
    board.reload()  # a first paint that starts from the snapshot's history
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    board.evaluate("window.__sameDocument = true")

    phone = new_page()
    phone.goto(f"/sessions/{sid}")
    expect(phone.locator("#status-text")).to_have_text("Identify yourself to check in")
    phone.fill("#identifier", "ALEX@example.com")
    phone.click("#identify button[type=submit]")
    phone.fill("#checkin-code", "wrong")
    phone.click("#checkin")
    expect(phone.locator("#checkin-error")).to_have_text("That check-in code is not right.")
    phone.fill("#checkin-code", "room42")  # codes compare in any case
    phone.click("#checkin")
    status = phone.locator("#status-text")
    expect(status).to_contain_text("Checked in at")
    assert len(status.inner_text()) <= 35
    shoot(phone, artifacts, "attendee-checked-in")

    expect(board.locator("#n-in-room")).to_have_text("8")
    expect(board.locator("#n-remaining")).to_have_text("32")
    expect(board.locator("#feed li").first).to_contain_text("Alex Example arrived")
    assert board.evaluate("window.__sameDocument") is True  # no reload happened
    shoot(board, artifacts, "dashboard", readme=True)

    # The moderator prompts the room; the attendee's phone shows it at once.
    board.fill("#prompt-message", "Codeword time: listen for it now")
    board.click("#prompt-form button[type=submit]")
    expect(phone.locator("#prompt")).to_have_text("Codeword time: listen for it now")

    # Check-out: the button at the top, then a confirmation.
    phone.click("#checkout")
    phone.click("#checkout-confirm")
    expect(phone.locator("#status-text")).to_contain_text("Checked out at")
    expect(board.locator("#n-in-room")).to_have_text("7")
    expect(board.locator("#feed li").first).to_contain_text("Alex Example left")
    assert board.evaluate("window.__sameDocument") is True

    # Guessing the code: ten wrong ones in all (one above), then even the right one waits,
    # and the page says until when.
    error = phone.locator("#checkin-error")
    for _ in range(9):
        phone.fill("#checkin-code", "guess")
        phone.click("#checkin")
        expect(error).to_be_visible()
        expect(error).to_have_text("That check-in code is not right.")
    phone.fill("#checkin-code", "room42")
    phone.click("#checkin")
    expect(error).to_have_text(re.compile(
        r"^Too many wrong codes\. Try again in 15 minutes, at \d{1,2}:\d{2}"))
    expect(phone.locator("#checkin")).to_be_disabled()
    expect(phone.locator("#status-text")).to_contain_text("Checked out at")


def test_dashboards_resume_after_a_hub_restart_without_reload(
    seeded: Seeded, live_hubs: Any, hub_env: dict[str, str], new_page: Any, artifacts: Path
) -> None:
    small = seeded.session(name="Small Room", capacity=3, start_time="10:00")
    big = seeded.session(name="Big Hall", capacity=100, start_time="09:00")
    seeded.attendees([{"external_id": f"E-{i}", "first_name": f"Guest{i}", "last_name": "Visitor",
                       "badge_id": f"G-{i}", "sessions": [small, big]} for i in range(5)])
    email, password = seeded.staff("watch@example.com", "moderate")

    board = new_page(width=1280, height=900)
    board.goto(f"/sessions/{small}/dashboard")
    sign_in(board, email, password)
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    board.evaluate("window.__sameDocument = true")
    event = new_page(width=1280, height=900)
    event.goto("/staff/dashboard")  # the same staff signs in on another device
    sign_in(event, email, password)
    expect(event.locator("#live")).to_have_attribute("data-state", "live")
    event.evaluate("window.__sameDocument = true")

    port = seeded.hub.port
    seeded.hub.stop()
    expect(board.locator("#live")).to_have_attribute("data-state", "reconnecting")
    expect(event.locator("#live")).to_have_attribute("data-state", "reconnecting")
    seeded.hub = live_hubs(hub_env, port=port)
    for i in range(3):  # while the dashboards are still away
        seeded.api("POST", f"/sessions/{small}/attendance/checkin", {"badge_id": f"G-{i}"})
    seeded.api("POST", f"/sessions/{big}/attendance/checkin", {"badge_id": "G-4"})

    expect(board.locator("#live")).to_have_attribute("data-state", "live", timeout=20_000)
    expect(board.locator("#n-in-room")).to_have_text("3")
    expect(board.locator("#n-remaining")).to_have_text("0")
    expect(board.locator("#feed li")).to_have_count(3)
    assert board.evaluate("window.__sameDocument") is True

    expect(event.locator("#live")).to_have_attribute("data-state", "live", timeout=20_000)
    row = event.locator(f"tr[data-session='{small}']")
    expect(row.locator("td[data-col=in_room]")).to_have_text("3")
    expect(row).to_have_class("full")  # at capacity: highlighted
    expect(event.locator(f"tr[data-session='{big}'] td[data-col=in_room]")).to_have_text("1")
    event.click("th[data-key=in_room] button")  # sort: most people in the room first
    expect(event.locator("#sessions tbody tr").first).to_have_attribute("data-session", small)
    assert event.evaluate("window.__sameDocument") is True
    shoot(event, artifacts, "event-dashboard", readme=True)
