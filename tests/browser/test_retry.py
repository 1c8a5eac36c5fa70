"""A flaky network at the door: the hub commits a check-in but the answer never reaches the
phone. The page retries with the same idempotency key, so the attendee is checked in once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_lost_answer_is_retried_with_the_same_key_and_checks_in_once(
    seeded: Seeded, new_page: Any
) -> None:
    sid = seeded.session(name="Flaky Wi-Fi Hall", checkin_required=True)
    seeded.attendees([{"external_id": "F-1", "first_name": "Fay", "last_name": "Lossy",
                       "email": "fay@example.com", "sessions": [sid]}])
    page = new_page()
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        keys.append(route.request.post_data_json["idempotency_key"])
        if len(keys) == 1:
            route.fetch()  # the hub receives it and commits...
            route.abort("connectionreset")  # ...but the answer is lost on the way back
        else:
            route.continue_()

    page.route("**/attendance/checkin", lose_first_answer)
    page.goto(f"/sessions/{sid}")
    page.fill("#identifier", "fay@example.com")
    page.click("#identify button[type=submit]")
    page.click("#checkin")
    expect(page.locator("#status-text")).to_contain_text("Checked in at")
    # The live push may show the check-in before the retry's answer: wait for the retry.
    deadline = time.monotonic() + 15
    while len(keys) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright run the route handler

    assert len(keys) == 2 and keys[0] == keys[1]
    [record] = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert [h["action"] for h in record["history"]] == ["checkin"]
    assert seeded.api("GET", f"/sessions/{sid}/counts")["checked_in"] == 1
