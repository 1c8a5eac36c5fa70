"""CE credit rules called directly."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hub.domain import credit
from hub.domain.credit import Attendance, CreditRule
from hub.errors import Invalid

TZ = ZoneInfo("America/Chicago")
DAY = dt.date(2026, 5, 1)
SCHED = credit.schedule_of(DAY, dt.time(9), dt.time(10), TZ)  # 60 minutes


def at(h: int, m: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(h, m), tzinfo=TZ)


def went(first: dt.datetime, left: dt.datetime | None, minutes: int,
         in_room: bool = False, now: dt.datetime | None = None) -> Attendance:
    return Attendance(first_checkin=first, last_checkout=left, in_room=in_room,
                      seconds=minutes * 60, now=now or at(12))


def earned(rule: CreditRule, a: Attendance, credits: float | None = 2.0, **kw: int) -> float:
    return credit.credits_earned(rule, credits, a, SCHED, **kw)


def test_no_rule_checked_in_earns_the_field_credits() -> None:
    assert earned(CreditRule(), went(at(9, 30), at(9, 31), 1)) == 2.0
    never = Attendance(first_checkin=None, last_checkout=None, in_room=False, seconds=0,
                       now=at(12))
    assert earned(CreditRule(), never) == 0.0


def test_min_percent() -> None:
    rule = CreditRule(min_percent=80)
    assert earned(rule, went(at(9), at(9, 48), 48)) == 2.0
    assert earned(rule, went(at(9), at(9, 47), 47)) == 0.0


def test_minute_units_with_half_credits() -> None:
    rule = CreditRule(unit_minutes=50, half_after_minutes=25)
    assert earned(rule, went(at(9), None, 74), credits=None) == 1.0
    assert earned(rule, went(at(9), None, 75), credits=None) == 1.5
    assert earned(rule, went(at(9), None, 100), credits=None) == 2.0
    assert earned(rule, went(at(9), None, 500), credits=2.0) == 2.0  # capped by the field


def test_minute_units_count_no_more_than_the_ce_minutes() -> None:
    rule = CreditRule(unit_minutes=50, half_after_minutes=25)
    assert earned(rule, went(at(9), None, 100), credits=None, ce_minutes=75) == 1.5
    assert earned(rule, went(at(9), None, 60), credits=None, ce_minutes=75) == 1.0


def test_prorate_by_ce_minutes_capped_at_the_field() -> None:
    rule = CreditRule(prorate=True)
    assert earned(rule, went(at(9), at(9, 40), 40), credits=1.5, ce_minutes=60) == 1.0
    assert earned(rule, went(at(9), at(10, 30), 90), credits=1.5, ce_minutes=60) == 1.5
    assert earned(rule, went(at(9), at(9, 20), 20), credits=1.0, ce_minutes=30) == 0.66
    # Without CE minutes, the scheduled length (60) is the measure.
    assert earned(rule, went(at(9), at(9, 30), 30), credits=2.0) == 1.0
    unscheduled = credit.schedule_of(None, None, None, TZ)
    a = went(at(9), at(9, 30), 30)
    assert credit.credits_earned(rule, 2.0, a, unscheduled) == 0.0
    assert credit.credits_earned(rule, 2.0, a, unscheduled, ce_minutes=60) == 1.0
    assert credit.parse_rule({"prorate": True}) == rule
    with pytest.raises(Invalid):
        credit.parse_rule({"prorate": "yes"})


def test_checkin_no_later_than_n_minutes_after_start() -> None:
    rule = CreditRule(checkin_within_minutes=10)
    assert earned(rule, went(at(9, 10), at(10), 50)) == 2.0
    assert earned(rule, went(at(9, 11), at(10), 49)) == 0.0


def test_checkout_no_earlier_than_m_minutes_before_end() -> None:
    rule = CreditRule(checkout_within_minutes=5)
    assert earned(rule, went(at(9), at(9, 55), 55)) == 2.0
    assert earned(rule, went(at(9), at(9, 54), 54)) == 0.0
    # still in the room: counts once the end is that close
    assert earned(rule, went(at(9), None, 56, in_room=True, now=at(9, 56))) == 2.0
    assert earned(rule, went(at(9), None, 30, in_room=True, now=at(9, 30))) == 0.0


def test_min_valid_codewords() -> None:
    rule = CreditRule(min_codewords=2)
    a = went(at(9), at(10), 60)
    assert earned(rule, a, valid_codewords=1, possible_codewords=4) == 0.0
    assert earned(rule, a, valid_codewords=2, possible_codewords=4) == 2.0
    assert earned(rule, a, valid_codewords=0, possible_codewords=0) == 2.0


def test_session_keys_replace_the_event_keys_and_null_switches_off() -> None:
    rule = credit.effective_rule({"min_percent": 80, "min_codewords": 2},
                                 {"min_codewords": None, "checkin_within_minutes": 5})
    assert rule == CreditRule(min_percent=80, checkin_within_minutes=5)


def test_parse_rule_refuses_nonsense() -> None:
    assert credit.parse_rule(None) is None
    assert credit.parse_rule({"min_percent": 75}) == CreditRule(min_percent=75)
    for bad in ({"min_percent": 150}, {"unit_minutes": 0}, {"bogus": 1},
                {"min_codewords": -1}, {"min_percent": "lots"}):
        with pytest.raises(Invalid):
            credit.parse_rule(bad)


def test_schedule_without_date_uses_the_day_of_the_first_checkin() -> None:
    s = credit.schedule_of(None, dt.time(9), dt.time(10), TZ, fallback_day=at(9, 5))
    assert s.start == at(9) and s.length_seconds == 3600


def test_evaluation_required_withholds_credit_until_the_evaluation_is_done() -> None:
    rule = CreditRule(evaluation_required=True)
    a = went(at(9), at(10), 60)
    assert earned(rule, a) == 0.0
    done = Attendance(first_checkin=at(9), last_checkout=at(10), in_room=False,
                      seconds=3600, now=at(12), evaluation_complete=True)
    assert earned(rule, done) == 2.0
    assert earned(CreditRule(evaluation_required=False), a) == 2.0
    assert credit.parse_rule({"evaluation_required": True}) == rule
    with pytest.raises(Invalid):
        credit.parse_rule({"evaluation_required": "yes"})
