"""Admin: sign in, create a session with its attendance fields, see it on the attendee
schedule; create an API key (shown once) and disable it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

NAME = "Closing Panel: What We Learned"


def test_admin_creates_a_session_that_appears_on_the_schedule(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    today = dt.date.today().isoformat()
    seeded.session(name="Morning Welcome", date=today, start_time="08:30")
    seeded.session(name="Staff Briefing", date=today, start_time="08:00", hidden=True)
    email, password = seeded.staff("boss@example.com", "admin")

    admin = new_page(width=1100, height=1400)
    admin.goto("/admin")
    sign_in(admin, email, password)
    expect(admin.locator("#session-table")).to_contain_text("Morning Welcome")
    admin.click("#new-session")
    admin.fill("#s-name", NAME)
    admin.fill("#s-date", today)
    admin.fill("#s-start", "16:30")
    admin.fill("#s-end", "17:30")
    admin.fill("#s-capacity", "80")
    admin.fill("#s-rank", "5")
    admin.fill("#s-ce", "60")
    admin.fill("#s-checkin-code", "bye")
    admin.select_option("#s-delivery", "hybrid")
    admin.check("#s-checkin-required")
    admin.fill("#fos-name-0", "Ethics")
    admin.fill("#fos-credits-0", "1")
    admin.fill("#fos-words-0", "alpha, beta")
    admin.click("#save-session")
    expect(admin.locator("#saved")).to_have_text("Session created.")
    expect(admin.locator("#session-table")).to_contain_text(NAME)
    shoot(admin, artifacts, "admin-sessions")

    made = next(s for s in seeded.api("GET", "/sessions")["data"] if s["name"] == NAME)
    assert (made["capacity"], made["rank"], made["ce_minutes"], made["checkin_code"]) == (
        80, 5, 60, "bye")
    assert made["delivery_format"] == "hybrid" and made["checkin_required"] is True
    assert made["fields_of_study"] == [
        {"name": "Ethics", "credits": "1", "codewords": ["alpha", "beta"]}]

    attendee = new_page()
    attendee.goto("/")
    schedule = attendee.locator("ul.schedule")
    expect(schedule).to_contain_text(NAME)
    expect(schedule).to_contain_text("Morning Welcome")
    expect(schedule).not_to_contain_text("Staff Briefing")  # hidden: reachable by URL only
    names = attendee.locator("ul.schedule li strong").all_inner_texts()
    assert names == ["Morning Welcome", NAME]
    shoot(attendee, artifacts, "schedule")

    # Edit: unset the capacity (blank), hide it; it leaves the schedule.
    admin.locator(f"tr[data-session='{made['id']}']").get_by_role("button", name="Edit").click()
    expect(admin.locator("#s-capacity")).to_have_value("80")
    admin.fill("#s-capacity", "")
    admin.check("#s-hidden")
    admin.click("#save-session")
    expect(admin.locator("#saved")).to_have_text("Session saved.")
    edited = seeded.api("GET", f"/sessions/{made['id']}")
    assert edited["capacity"] is None and edited["hidden"] is True
    assert edited["checkin_code"] == "bye"  # untouched fields stay
    # Only one visible session is left: the event opens it directly.
    attendee.reload()
    expect(attendee.locator("main h1")).to_have_text("Morning Welcome")
    assert "/sessions/" in attendee.url

    # The attendance download.
    seeded.attendees([{"external_id": "Z-1", "first_name": "Zoe", "last_name": "Csv",
                       "badge_id": "B-Z1", "sessions": [made["id"]]}])
    seeded.api("POST", f"/sessions/{made['id']}/attendance/checkin", {"badge_id": "B-Z1"})
    with admin.expect_download() as dl:
        admin.locator(f"tr[data-session='{made['id']}']").get_by_role("link", name="CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("B-Z1,Z-1,Csv,Zoe,")


def test_admin_api_key_is_shown_once_and_can_be_disabled(
    seeded: Seeded, new_page: Any
) -> None:
    email, password = seeded.staff("boss@example.com", "admin")
    admin = new_page(width=1100)
    admin.goto("/admin#keys")
    sign_in(admin, email, password)
    admin.fill("#key-description", "Registration sync")
    admin.click("#key-form button[type=submit]")
    key = admin.locator("#new-key-value").inner_text()
    assert key.startswith("rc_")
    url = seeded.hub.url + "/api/v2/app"
    assert httpx.get(url, headers={"API-Key": key}).status_code == 200

    admin.on("dialog", lambda d: d.accept())
    admin.locator("#key-table tr", has_text="Registration sync").locator("button").click()
    expect(admin.locator("#key-table tr", has_text="Registration sync")).to_contain_text("disabled")
    expect(admin.locator("#new-key-value")).to_have_count(0)  # shown once only
    assert httpx.get(url, headers={"API-Key": key}).status_code == 401
