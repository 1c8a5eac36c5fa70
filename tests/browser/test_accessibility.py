"""Every page at 360 px: nothing wider than the screen, every input labelled, keyboard focus
visible on the main controls."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Seeded, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

AUDIT = """() => {
  const unlabelled = [];
  for (const input of document.querySelectorAll("input, select, textarea")) {
    if (input.type === "hidden" || input.closest(".hidden")) continue;
    const named = (input.labels && input.labels.length) || input.getAttribute("aria-label")
      || input.getAttribute("aria-labelledby");
    if (!named) unlabelled.push(input.id || input.name || input.outerHTML.slice(0, 60));
  }
  return {width: document.documentElement.scrollWidth, unlabelled};
}"""


def audit(page: Any, where: str) -> None:
    page.wait_for_load_state("networkidle")
    found = page.evaluate(AUDIT)
    assert found["width"] <= 360, f"{where}: {found['width']}px wide at a 360px screen"
    assert not found["unlabelled"], f"{where}: inputs without a label: {found['unlabelled']}"


def test_pages_fit_360px_and_label_every_input(seeded: Seeded, new_page: Any) -> None:
    sid = seeded.session(name="A session with a rather long name to wrap on a small phone",
                         location="Ballroom A", checkin_required=True, checkin_code="X",
                         delivery_format="hybrid", start_time="10:00", capacity=10)
    seeded.session(name="Second", start_time="11:00")
    email, password = seeded.staff("all@example.com", "admin")

    phone = new_page(width=360, height=740)
    for path in ("/", f"/sessions/{sid}", f"/kiosk/{sid}", "/admin"):
        phone.goto(path)
        audit(phone, path)
    sign_in(phone, email, password)
    phone.wait_for_selector("#session-table")
    audit(phone, "/admin sessions")
    phone.click("#new-session")
    audit(phone, "/admin new session")
    for tab in ("settings", "staff", "keys"):
        phone.click(f"#tab-{tab}")
        phone.wait_for_selector("#panel form")
        audit(phone, f"/admin {tab}")
    for path in (f"/staff/scan?session={sid}", "/staff/dashboard", f"/sessions/{sid}/dashboard"):
        phone.goto(path)
        phone.wait_for_selector("#live")
        audit(phone, path)
    phone.goto(f"/staff/scan?session={sid}")
    phone.wait_for_selector("#badge")
    phone.focus("#badge")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Submit"
