"""Live engagement rules called directly: poll choices and answers, results, question text,
and when an evaluation opens."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.domain import engagement as e
from hub.errors import Invalid

END = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


def test_evaluation_opens_n_minutes_before_the_end_by_default_ten() -> None:
    assert e.unlock_minutes(None, None) == 10
    assert e.unlock_minutes(5, None) == 5
    assert e.unlock_minutes(5, 0) == 0  # the session's own setting wins: at the end
    opens = e.opens_at(END, e.unlock_minutes(None, None), None)
    assert opens == END - dt.timedelta(minutes=10)
    assert not e.is_open(opens - dt.timedelta(seconds=1), opens)
    assert e.is_open(opens, opens)
    assert e.opens_at(END, 0, None) == END


def test_a_moderator_unlocks_early_and_no_schedule_waits_for_one() -> None:
    early = END - dt.timedelta(hours=1)
    assert e.opens_at(END, 10, early) == early
    assert e.opens_at(None, 10, None) is None
    assert not e.is_open(END, None)
    assert e.opens_at(None, 10, early) == early


def test_answers_are_checked_against_the_poll() -> None:
    assert e.poll_answer("multiple_choice", ["A", "B"], "B") == "B"
    assert e.poll_answer("multiple_select", ["A", "B", "C"], ["C", "A", "C"]) == '["A","C"]'
    assert e.poll_answer("rating", e.RATING_CHOICES, 3) == "3"
    assert e.poll_answer("open_text", [], "  hi  ") == "hi"
    for kind, choices, bad in [("multiple_choice", ["A"], "Z"), ("multiple_select", ["A"], []),
                               ("rating", e.RATING_CHOICES, 0), ("rating", e.RATING_CHOICES,
                                                                  True),
                               ("open_text", [], "x" * 1001)]:
        with pytest.raises(Invalid):
            e.poll_answer(kind, choices, bad)


def test_results_count_each_pick_and_average_ratings() -> None:
    r = e.tally("multiple_select", ["A", "B"], [('["A","B"]', 2), ('["B"]', 1)])
    assert (r.total, r.counts) == (3, {"A": 2, "B": 3})
    r = e.tally("rating", e.RATING_CHOICES, [("5", 1), ("4", 1)])
    assert r.average == 4.5


def test_question_text_is_trimmed_and_bounded() -> None:
    assert e.question_text("  Why   so?  ") == "Why so?"
    with pytest.raises(Invalid):
        e.question_text("ab")
    with pytest.raises(Invalid):
        e.question_text("x" * 501)
