"""The staff scanner and the kiosk with the network cut (``context.set_offline(True)``): they
keep admitting and refusing from their door lists, queue, show how many scans wait, and upload
on reconnect; two offline scanners sharing a capacity of 10 through seat leases admit at most
10, and the database agrees; an installed scanner opens with the network down."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from hub.auth.principal import Principal
from hub.domain import rules
from hub.door.decide import door_for
from hub.errors import CheckinRefused
from tests.browser.conftest import Seeded, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

NOW = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


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


def test_offline_doors_decide_queue_and_upload(seeded: Seeded, new_page: Any) -> None:
    """A scanner and a kiosk, both offline: each decides from its door list, queues and
    uploads on reconnect; the attendee both admitted is the scanner's conflict, shown on the
    scanner and listed for staff with what each door decided."""
    sid = seeded.session(name="Offline Hall", registrants_only=True)
    seeded.attendees([
        {"external_id": "R-1", "first_name": "Pat", "last_name": "Early", "badge_id": "B-100",
         "sessions": [sid]},
        {"external_id": "W-1", "first_name": "Sam", "last_name": "Walkin", "badge_id": "B-200"},
        {"external_id": "R-3", "first_name": "Kim", "last_name": "Twice", "badge_id": "B-300",
         "sessions": [sid]},
    ])
    email, password = seeded.staff("door1@example.com", "scan")
    seeded.staff("kiosk@example.com", "scan")
    first = scanner(new_page, sid, email, password, 3)
    rules_match(first)
    tablet = new_page(width=820, height=1180)
    tablet.goto(f"/kiosk/{sid}")
    sign_in(tablet, "kiosk@example.com", password)
    expect(tablet.locator("#app")).to_have_attribute("data-doorlist", "3")
    first.context.set_offline(True)
    tablet.context.set_offline(True)

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
    # the same attendee at the kiosk, offline too: found in its door list, one tap
    tablet.fill("#q", "kim")
    expect(tablet.locator("#people button")).to_have_count(1)
    tablet.locator("#people button", has_text="Kim Twice").click()
    expect(tablet.locator("#kiosk-title")).to_have_text("Welcome, Kim Twice!")
    expect(tablet.locator("#kiosk-offline")).to_have_text(
        "Offline · 1 check-in waiting to upload")
    assert seeded.api("GET", f"/sessions/{sid}/counts")["in_room"] == 0

    tablet.context.set_offline(False)
    expect(tablet.locator("#kiosk-offline")).to_be_hidden(timeout=20_000)
    first.context.set_offline(False)
    expect(first.locator("#pending")).to_be_hidden(timeout=20_000)
    expect(first.locator("#offline")).to_be_hidden()
    expect(first.locator("#judged")).to_contain_text("B-300")
    expect(first.locator("#judged")).to_contain_text("Already checked in")

    records = {r["user"]["external_id"]: r for r in seeded.api("GET",
                                                                f"/sessions/{sid}/attendance")}
    assert sorted(records) == ["R-1", "R-3"]
    assert (records["R-1"]["checkin_source"], records["R-3"]["checkin_source"]) == (
        "scan", "kiosk")
    [conflict] = seeded.api("GET", f"/sessions/{sid}/conflicts")
    assert (conflict["kind"], conflict["attendee"]["external_id"], conflict["door_decided"],
            conflict["hub_result"]) == ("double_admission", "R-3", "ok", "already_checked_in")
    assert conflict["door"] == "staff:door1@example.com"
    assert conflict["other"]["source"] == "kiosk"
    # staff review it, with what each door decided
    first.click("#review-link")
    row = first.locator("#conflicts tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Admitted at two doors")
    expect(row).to_contain_text("Kim Twice")
    expect(row).to_contain_text("Already checked in to this session.")
    expect(row).to_contain_text("admitted at")


def test_two_offline_scanners_share_capacity_through_leases(seeded: Seeded,
                                                            new_page: Any) -> None:
    sid = seeded.session(name="Small Room", capacity=10)
    seeded.attendees([{"external_id": f"P-{i:02d}", "first_name": "Guest", "last_name": str(i),
                       "badge_id": f"B-{i:02d}"} for i in range(1, 13)])
    email, password = seeded.staff("left@example.com", "scan")
    seeded.staff("right@example.com", "scan")
    left = scanner(new_page, sid, email, password, 12)
    right = scanner(new_page, sid, "right@example.com", password, 12)

    def slow(route: Any) -> None:
        time.sleep(1.7)  # the network looks poor
        route.continue_()

    left.route("**/attendance/checkin", slow)
    scan(left, "B-12", "admitted")
    # a lease taken by itself, sized from the arrivals (at least 3 seats)
    expect(left.locator("#lease-status")).to_have_text("Seats held for offline: 3 of 3 left")
    left.unroute("**/attendance/checkin")
    # held by hand (the automatic lease is given back first): 9 seats are free
    for page, asked, got in ((left, 6, 6), (right, 6, 3)):
        page.fill("#lease-seats", str(asked))
        page.click("#lease-take")
        expect(page.locator("#lease-status")).to_have_text(
            f"Seats held for offline: {got} of {got} left")
    assert seeded.api("GET", f"/sessions/{sid}/counts")["leased"] == 9
    left.context.set_offline(True)
    right.context.set_offline(True)

    for i in range(1, 7):
        scan(left, f"B-{i:02d}", "admitted")
    scan(left, "B-07", "refused")
    expect(left.locator("#result-why")).to_contain_text("This session is full.")
    for i in range(7, 10):
        scan(right, f"B-{i:02d}", "admitted")
    scan(right, "B-10", "refused")
    expect(right.locator("#lease-status")).to_have_text("Seats held for offline: 0 of 3 left")
    expect(left.locator("#pending")).to_have_text("6 scans waiting to upload")

    left.context.set_offline(False)
    right.context.set_offline(False)
    for page in (left, right):
        expect(page.locator("#pending")).to_be_hidden(timeout=20_000)
        expect(page.locator("#judged-box")).to_be_hidden()
    counts = seeded.api("GET", f"/sessions/{sid}/counts")
    assert counts["in_room"] == 10 and counts["remaining"] == 0
    rows = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert sorted(r["user"]["external_id"] for r in rows) == [
        *(f"P-{i:02d}" for i in range(1, 10)), "P-12"]
    expect(left.locator("#lease-status")).to_have_text("No seats held for offline.")

    # the installed page opens with the network down (service worker, door list in IndexedDB)
    left.wait_for_function("navigator.serviceWorker.controller !== null")
    left.reload()
    expect(left.locator("#doorlist-status")).to_have_text("Door list: 12 attendees")
    left.context.set_offline(True)
    left.reload()
    expect(left.locator("#session-name")).to_have_text("Small Room")
    expect(left.locator("#doorlist-status")).to_have_text("Door list: 12 attendees")
    scan(left, "B-11", "refused")
    expect(left.locator("#result-why")).to_contain_text("This session is full.")
    scan(left, "B-03", "refused")
    expect(left.locator("#result-why")).to_contain_text("Already checked in")


def hub_decision(settings: dict[str, Any], person: dict[str, Any] | None, mode: str,
                 lease_seat: bool) -> str | None:
    """What the hub decides for a scanner (``hub.domain.rules``), with the lease as the
    offline door's capacity: None when admitted, else the reason."""
    if person is None:
        return "unknown_attendee"
    session = rules.SessionView(id="s", capacity=settings["capacity"],
                                registrants_only=settings["registrants_only"],
                                registration_levels=tuple(settings["registration_levels"]))
    staff = Principal(kind="staff", actor="staff:x", permissions=frozenset({"scan"}))
    door = door_for(staff, None, "s")
    record = rules.RecordView(exists=True, in_since=NOW if person["in_room"] else None)
    attendee = rules.AttendeeView(id=1, registration_level=person["registration_level"],
                                  registered=person["registered"])
    try:
        if mode == "checkout":
            rules.release(session, record, door, code=None)
            return None
        rules.admit(session, attendee, record, door)
    except CheckinRefused as exc:
        return exc.reason
    capacity = settings["capacity"]
    if capacity is None:
        return None
    # offline, the room holds the door's leased seats: room for one more only on a lease seat
    in_room, leased = (capacity - 1, 1) if lease_seat else (capacity, 0)
    return None if rules.seat_free(capacity, in_room, leased, lease_seat) else "capacity_full"


def rules_match(page: Any) -> None:
    """``decide()`` of web/js/offline.js against hub.domain.rules over every combination a
    scanner meets."""
    cases = []
    for (registrants_only, levels, capacity, registered, level, in_room, known, mode,
         lease_seat) in itertools.product(
            (False, True), ([], ["Full", "Day"]), (None, 10), (False, True),
            (None, "full ", "Student"), (False, True), (False, True),
            ("checkin", "checkout"), (False, True)):
        settings = {"registrants_only": registrants_only, "registration_levels": levels,
                    "capacity": capacity}
        person = ({"registered": registered, "registration_level": level,
                   "in_room": in_room} if known else None)
        cases.append((settings, person, mode, lease_seat))
    got = page.evaluate("""async (cases) => {
        const m = await import('/static/js/offline.js');
        const lease = {id: 'l', seats: 1, used: 0, expires_at: '2999-01-01T00:00:00Z'};
        return cases.map(([s, p, mode, seat]) => m.decide(s, p, mode, seat ? lease : null));
    }""", cases)
    expected = [hub_decision(*c) for c in cases]
    assert got == expected
