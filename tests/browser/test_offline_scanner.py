"""The staff scanner with the network cut (``context.set_offline(True)``): it keeps admitting
and refusing from its door list, queues, shows how many scans wait, and uploads on reconnect;
two offline scanners sharing a capacity of 10 through seat leases admit at most 10, and the
database agrees."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def scan(page: Any, badge: str, outcome: str) -> None:
    page.fill("#badge", badge)
    page.press("#badge", "Enter")
    expect(page.locator("#result")).to_contain_text(badge if outcome == "refused" else "")
    expect(page.locator("#result")).to_have_attribute("data-outcome", outcome)


def scanner(new_page: Any, sid: str, email: str, password: str, attendees: int) -> Any:
    page = new_page()
    page.goto(f"/staff/scan?session={sid}")
    sign_in(page, email, password)
    expect(page.locator("#doorlist-status")).to_have_text(f"Door list: {attendees} attendees")
    return page


def test_offline_scanner_decides_queues_and_uploads(seeded: Seeded, new_page: Any) -> None:
    sid = seeded.session(name="Offline Hall", registrants_only=True)
    seeded.attendees([
        {"external_id": "R-1", "first_name": "Pat", "last_name": "Early", "badge_id": "B-100",
         "sessions": [sid]},
        {"external_id": "W-1", "first_name": "Sam", "last_name": "Walkin", "badge_id": "B-200"},
        {"external_id": "R-3", "first_name": "Kim", "last_name": "Twice", "badge_id": "B-300",
         "sessions": [sid]},
    ])
    email, password = seeded.staff("door1@example.com", "scan")
    seeded.staff("door2@example.com", "scan")
    first = scanner(new_page, sid, email, password, 3)
    second = scanner(new_page, sid, "door2@example.com", password, 3)
    first.context.set_offline(True)
    second.context.set_offline(True)

    scan(first, "B-100", "admitted")
    expect(first.locator("#result")).to_contain_text("Admitted (offline): Pat Early")
    expect(first.locator("#offline")).to_be_visible()
    scan(first, "B-200", "refused")
    expect(first.locator("#result-why")).to_contain_text(
        "Only registered attendees may enter this session.")
    scan(first, "NOPE-9", "refused")
    expect(first.locator("#result-why")).to_contain_text("Attendee not recognised.")
    scan(first, "B-100", "refused")  # in the room already, by this door's own decision
    scan(first, "B-300", "admitted")
    expect(first.locator("#pending")).to_have_text("2 scans waiting to upload")
    # the same attendee at another offline door
    scan(second, "B-300", "admitted")
    expect(second.locator("#pending")).to_have_text("1 scan waiting to upload")
    assert seeded.api("GET", f"/sessions/{sid}/counts")["in_room"] == 0

    first.context.set_offline(False)
    expect(first.locator("#pending")).to_be_hidden(timeout=20_000)
    expect(first.locator("#offline")).to_be_hidden()
    second.context.set_offline(False)
    expect(second.locator("#pending")).to_be_hidden(timeout=20_000)
    expect(second.locator("#judged")).to_contain_text("B-300")
    expect(second.locator("#judged")).to_contain_text("Already checked in")

    records = {r["user"]["external_id"]: r for r in seeded.api("GET",
                                                                f"/sessions/{sid}/attendance")}
    assert sorted(records) == ["R-1", "R-3"]
    assert all(r["checkin_source"] == "scan" for r in records.values())
    [conflict] = seeded.api("GET", f"/sessions/{sid}/conflicts")
    assert (conflict["kind"], conflict["attendee"]["external_id"], conflict["door_decided"],
            conflict["hub_result"]) == ("double_admission", "R-3", "ok", "already_checked_in")
    assert "door2@example.com" in conflict["door"]
    assert "door1@example.com" in conflict["other"]["actor"]
    # staff review it, with what each door decided
    second.click("#review-link")
    row = second.locator("#conflicts tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Admitted at two doors")
    expect(row).to_contain_text("Kim Twice")
    expect(row).to_contain_text("Already checked in to this session.")
    expect(row).to_contain_text("door1@example.com admitted at")


def test_two_offline_scanners_share_capacity_through_leases(seeded: Seeded,
                                                            new_page: Any) -> None:
    sid = seeded.session(name="Small Room", capacity=10)
    seeded.attendees([{"external_id": f"P-{i:02d}", "first_name": "Guest", "last_name": str(i),
                       "badge_id": f"B-{i:02d}"} for i in range(1, 13)])
    email, password = seeded.staff("left@example.com", "scan")
    seeded.staff("right@example.com", "scan")
    left = scanner(new_page, sid, email, password, 12)
    right = scanner(new_page, sid, "right@example.com", password, 12)
    for page, asked, got in ((left, 6, 6), (right, 6, 4)):
        page.fill("#lease-seats", str(asked))
        page.click("#lease-take")
        expect(page.locator("#lease-status")).to_have_text(
            f"Seats held for offline: {got} of {got} left")
    assert seeded.api("GET", f"/sessions/{sid}/counts")["leased"] == 10
    left.context.set_offline(True)
    right.context.set_offline(True)

    for i in range(1, 7):
        scan(left, f"B-{i:02d}", "admitted")
    scan(left, "B-07", "refused")
    expect(left.locator("#result-why")).to_contain_text("This session is full.")
    for i in range(7, 11):
        scan(right, f"B-{i:02d}", "admitted")
    scan(right, "B-11", "refused")
    expect(right.locator("#lease-status")).to_have_text("Seats held for offline: 0 of 4 left")
    expect(left.locator("#pending")).to_have_text("6 scans waiting to upload")

    left.context.set_offline(False)
    right.context.set_offline(False)
    for page in (left, right):
        expect(page.locator("#pending")).to_be_hidden(timeout=20_000)
        expect(page.locator("#judged-box")).to_be_hidden()
    counts = seeded.api("GET", f"/sessions/{sid}/counts")
    assert counts["in_room"] == 10 and counts["remaining"] == 0
    rows = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert sorted(r["user"]["external_id"] for r in rows) == [f"P-{i:02d}" for i in range(1, 11)]
    expect(left.locator("#lease-status")).to_have_text("No seats held for offline.")

    # the installed page opens with the network down (service worker, door list in IndexedDB)
    left.wait_for_function("navigator.serviceWorker.controller !== null")
    left.reload()
    expect(left.locator("#doorlist-status")).to_have_text("Door list: 12 attendees")
    left.context.set_offline(True)
    left.reload()
    expect(left.locator("#session-name")).to_have_text("Small Room")
    expect(left.locator("#doorlist-status")).to_have_text("Door list: 12 attendees")
    scan(left, "B-12", "refused")
    expect(left.locator("#result-why")).to_contain_text("This session is full.")
    scan(left, "B-03", "refused")
    expect(left.locator("#result-why")).to_contain_text("Already checked in")
