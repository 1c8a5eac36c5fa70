"""A burst of check-ins reaches the moderator's dashboard as ``batch`` frames (several deltas in
one WebSocket message), and the page (web/js/live.js) applies every one of them: the counts and
the arrivals feed match the database, without a reload."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

BURST = 12

# Count the frames of each type the page's WebSockets receive (before the page's own code).
SPY = """
(() => {
  const Native = window.WebSocket;
  window.__frames = {};
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        let type = "?";
        try { type = JSON.parse(ev.data).type; } catch (_) { /* not JSON */ }
        window.__frames[type] = (window.__frames[type] || 0) + 1;
      });
    }
  };
})();
"""


@pytest.fixture
def hub_env(hub_env: dict[str, str]) -> dict[str, str]:
    # A wide flush window, so that a burst certainly shares frames even on a busy machine.
    return {**hub_env, "ROLLCALL_WS_FLUSH_S": "0.5"}


def test_a_burst_of_checkins_arrives_in_batches_and_the_dashboard_shows_them_all(
    seeded: Seeded, new_page: Any
) -> None:
    sid = seeded.session(name="Keynote", capacity=100)
    people = [{"external_id": f"K-{i}", "first_name": f"Guest{i}", "last_name": "Burst",
               "badge_id": f"B-K{i}", "sessions": [sid]} for i in range(BURST)]
    seeded.attendees(people)
    email, password = seeded.staff("mod@example.com", "moderate")

    board = new_page(width=1280, height=900)
    board.add_init_script(SPY)
    board.goto(f"/sessions/{sid}/dashboard")
    sign_in(board, email, password)
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    expect(board.locator("#n-in-room")).to_have_text("0")
    board.evaluate("window.__sameDocument = true")

    def door(i: int) -> int:
        r = httpx.post(f"{seeded.hub.url}/api/v2/sessions/{sid}/attendance/checkin",
                       json={"badge_id": f"B-K{i}"}, headers={"API-Key": seeded.key},
                       timeout=10)
        return r.status_code

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        assert list(pool.map(door, range(BURST))) == [200] * BURST
    counts = seeded.api("GET", f"/sessions/{sid}/counts")
    assert counts["in_room"] == BURST

    expect(board.locator("#n-in-room")).to_have_text(str(BURST))
    expect(board.locator("#n-remaining")).to_have_text(str(100 - BURST))
    for i in range(BURST):
        expect(board.locator("#feed")).to_contain_text(f"Guest{i} Burst arrived")
    # The deltas came (at least partly) as batch frames, and the page never had to resume.
    board.wait_for_function("(window.__frames.batch || 0) >= 1")
    frames = board.evaluate("window.__frames")
    assert frames.get("snapshot") == 1, frames
    assert board.evaluate("window.__sameDocument") is True
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    health = httpx.get(f"{seeded.hub.url}/healthz", timeout=5).json()
    assert health["broker"]["local"]["batches"] >= 1
