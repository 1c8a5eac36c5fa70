"""A moderator creates and opens a poll on the dashboard, two attendees vote from their
phones, and the dashboard's results change without a reload; the presenter screen follows;
then the moderator unlocks the evaluation and an attendee fills it in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def identify(page: Any, sid: str, email: str) -> None:
    page.goto(f"/sessions/{sid}")
    page.fill("#identifier", email)
    page.click("#identify button[type=submit]")
    expect(page.locator("#status-text")).to_contain_text("Not checked in")


def test_poll_results_and_evaluation_live(seeded: Seeded, new_page: Any,
                                          artifacts: Path) -> None:
    sid = seeded.session(name="Audit Analytics", date=dt.date.today().isoformat(),
                         start_time="09:00", end_time="23:59", checkin_required=True)
    seeded.attendees([{"external_id": f"A-{i}", "first_name": name, "last_name": "Example",
                       "email": f"{name.lower()}@example.com", "sessions": [sid]}
                      for i, name in enumerate(["Alex", "Sam"])])
    seeded.api("PUT", "/evaluations/form", {"questions": [
        {"text": "How was this session?", "kind": "rating"},
        {"text": "Anything else?", "kind": "text", "required": False}]})
    email, password = seeded.staff("moderator@example.com", "moderate")

    board = new_page(width=1280, height=900)
    board.goto(f"/sessions/{sid}/dashboard")
    sign_in(board, email, password)
    expect(board.locator("#live")).to_have_attribute("data-state", "live")
    board.evaluate("window.__sameDocument = true")
    board.fill("#poll-name", "Which topic next?")
    board.fill("#poll-choices", "Sampling\nFraud")
    board.click("#poll-create button[type=submit]")
    card = board.locator("#poll-list .poll").first
    expect(card).to_have_attribute("data-state", "draft")
    card.locator("button.open").click()
    expect(card).to_have_attribute("data-state", "open")

    phones = [new_page(), new_page()]
    for phone, who in zip(phones, ["alex@example.com", "sam@example.com"], strict=True):
        identify(phone, sid, who)
    for phone, choice in zip(phones, ["Fraud", "Sampling"], strict=True):
        poll = phone.locator("#polls .poll").first
        expect(poll).to_have_attribute("data-state", "open")
        poll.get_by_label(choice).check()
        poll.locator("button[type=submit]").click()
        expect(poll.locator(".answer-status")).to_contain_text("your answer is in")

    results = board.locator("#poll-list .poll").first
    expect(results.locator("li[data-choice=Fraud] .n")).to_have_text("1")
    expect(results.locator("li[data-choice=Sampling] .n")).to_have_text("1")
    expect(results.locator(".total")).to_have_text("2 answers")
    assert board.evaluate("window.__sameDocument") is True  # no reload happened
    shoot(board, artifacts, "dashboard-polls")

    # The presenter screen follows the moderator: the open poll's results, then, once the
    # poll is closed, the starred question.
    screen = board.context.new_page()
    screen.goto(f"/sessions/{sid}/screen")
    expect(screen.locator("#screen-poll li[data-choice=Fraud] .n")).to_have_text("1")
    q = seeded.api("POST", f"/sessions/{sid}/questions",
                   {"question": "Will the slides be shared?", "external_id": "A-1"})
    seeded.api("PUT", f"/sessions/{sid}/questions/{q['id']}", {"starred": True})
    card.locator("button.close").click()
    expect(screen.locator("#screen-question")).to_have_text("Will the slides be shared?")
    shoot(screen, artifacts, "presenter-screen")

    # The evaluation is not open until 10 minutes before the end; the moderator opens it now.
    alex = phones[0]
    expect(alex.locator("#evaluation-status")).to_contain_text("opens at")
    seeded.api("POST", f"/sessions/{sid}/evaluation/unlock")
    form = alex.locator("#evaluation-form")
    expect(form).to_be_visible()
    form.locator("fieldset").first.get_by_label("5 - Great").check()
    alex.click("#evaluation-submit")
    expect(alex.locator("#evaluation-status")).to_have_text("Thank you: your evaluation is in.")
    shoot(alex, artifacts, "attendee-evaluation")
    rows = seeded.api("GET", "/evaluations/responses")
    assert [(r["question"], r["response"], r["response_value"]) for r in rows["responses"]] == [
        ("How was this session?", "5 - Great", 5)]
