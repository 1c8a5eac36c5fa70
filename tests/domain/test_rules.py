"""The door's rules called directly: one test per rule and reason."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hub.auth.principal import Principal
from hub.domain import rules
from hub.domain.rules import AttendeeView, RecordView, SessionView
from hub.door.decide import door_for
from hub.errors import CheckinRefused, Forbidden, Invalid

API = Principal(kind="api_key", actor="api_key:1")
SCANNER = Principal(kind="staff", actor="staff:s@x", permissions=frozenset({"scan"}), staff_id=1)
SUPERVISOR = Principal(kind="staff", actor="staff:o@x",
                       permissions=frozenset({"scan", "override"}), staff_id=2)
KIOSK = Principal(kind="kiosk", actor="staff:k@x", staff_id=3, session_id="s1")
ATTENDEE = Principal(kind="attendee", actor="attendee:7", attendee_id=7)

T0 = dt.datetime(2026, 5, 1, 14, 0, tzinfo=dt.UTC)
NEW = RecordView()
IN_ROOM = RecordView(exists=True, ever_checked_in=True, in_since=T0)
LEFT = RecordView(exists=True, ever_checked_in=True, last_checkout=T0)
WHO = AttendeeView(id=7, registration_level="Full", registered=True)


def web(source: str | None = None) -> rules.Door:
    return door_for(ATTENDEE, source, "s1")


def refused(reason: str, session: SessionView, *, attendee: AttendeeView = WHO,
            record: RecordView = NEW, door: rules.Door | None = None, **kw: object) -> None:
    with pytest.raises(CheckinRefused) as info:
        rules.admit(session, attendee, record, door or web(), **kw)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert info.value.message


# --- one per reason ------------------------------------------------------------------------


def test_code_required() -> None:
    refused("code_required", SessionView(id="s1", checkin_code="ETHICS"))


def test_code_invalid() -> None:
    refused("code_invalid", SessionView(id="s1", checkin_code="ETHICS"), code="ethic")


def test_codes_compare_in_any_case() -> None:
    adm = rules.admit(SessionView(id="s1", checkin_code="Ethics"), WHO, NEW, web(),
                      code="  eTHICS ")
    assert adm.overridden == ()


def test_not_registered() -> None:
    refused("not_registered", SessionView(id="s1", registrants_only=True),
            attendee=AttendeeView(id=7, registered=False))


def test_registration_level() -> None:
    s = SessionView(id="s1", registration_levels=("Speaker",))
    refused("registration_level", s, attendee=AttendeeView(id=7, registration_level="Full"))
    refused("registration_level", s, attendee=AttendeeView(id=7, registration_level=None))
    rules.admit(s, AttendeeView(id=7, registration_level="speaker"), NEW, web())


def test_already_checked_in() -> None:
    refused("already_checked_in", SessionView(id="s1"), record=IN_ROOM)


def test_reentry_is_allowed_after_checkout() -> None:
    rules.admit(SessionView(id="s1"), WHO, LEFT, web())


def test_delivery_format_required_for_attendees_of_hybrid_sessions() -> None:
    s = SessionView(id="s1", delivery_format="hybrid")
    refused("delivery_format_required", s)
    assert rules.admit(s, WHO, NEW, web(), delivery_format="virtual").delivery_format == "virtual"


def test_kiosk_and_scan_mean_in_person() -> None:
    s = SessionView(id="s1", delivery_format="hybrid")
    for principal in (KIOSK, SCANNER):
        door = door_for(principal, None, "s1")
        assert rules.admit(s, WHO, NEW, door).delivery_format == "in-person"


def test_not_checked_in() -> None:
    with pytest.raises(CheckinRefused) as info:
        rules.release(SessionView(id="s1"), LEFT, web(), code=None)
    assert info.value.reason == "not_checked_in"


def test_checkout_code_required_and_invalid() -> None:
    s = SessionView(id="s1", checkout_code="BYE")
    for code, reason in ((None, "checkout_code_required"), ("hello", "checkout_code_invalid")):
        with pytest.raises(CheckinRefused) as info:
            rules.release(s, IN_ROOM, web(), code=code)
        assert info.value.reason == reason
    rules.release(s, IN_ROOM, web(), code="bye")
    rules.release(s, IN_ROOM, door_for(SCANNER, None, "s1"), code=None)


def test_capacity_full_is_the_counter_condition() -> None:
    assert rules.has_room(None, 10_000)
    assert rules.has_room(100, 99)
    assert not rules.has_room(100, 100)


def test_unknown_attendee_is_a_404() -> None:
    assert CheckinRefused("unknown_attendee").http_status == 404
    assert CheckinRefused("capacity_full").http_status == 409


# --- doors -----------------------------------------------------------------------------------


def test_staff_kiosk_and_api_never_ask_codes() -> None:
    s = SessionView(id="s1", checkin_code="X")
    for principal in (API, SCANNER, KIOSK):
        rules.admit(s, WHO, NEW, door_for(principal, None, "s1"))


def test_api_naming_web_is_held_to_the_attendee_rules() -> None:
    door = door_for(API, "web", "s1")
    assert door.source == "web"
    refused("code_required", SessionView(id="s1", checkin_code="X"), door=door)


def test_sources() -> None:
    assert door_for(API, None, "s1").source == "api"
    assert door_for(API, "kiosk", "s1").source == "kiosk"
    assert door_for(SCANNER, "web", "s1").source == "scan"
    assert door_for(KIOSK, "api", "s1").source == "kiosk"
    assert door_for(ATTENDEE, None, "s1").source == "web"
    with pytest.raises(Invalid):
        door_for(ATTENDEE, "self-report", "s1")
    with pytest.raises(Invalid):
        door_for(API, "self-report", "s1")
    assert door_for(ATTENDEE, "scan", "s1").source == "web"


def test_kiosk_is_locked_to_its_session() -> None:
    with pytest.raises(Forbidden):
        door_for(KIOSK, None, "other")


def test_staff_needs_scan_permission() -> None:
    with pytest.raises(Forbidden):
        moderator = Principal(kind="staff", actor="staff:m", permissions=frozenset({"moderate"}))
        door_for(moderator, None, "s1")


def test_override_lifts_restrictions_only_for_those_who_may() -> None:
    s = SessionView(id="s1", checkin_code="X", registrants_only=True)
    stranger = AttendeeView(id=7, registered=False)
    sup = door_for(SUPERVISOR, None, "s1")
    adm = rules.admit(s, stranger, NEW, sup, override=True)
    assert adm.overridden == ("not_registered",)
    api_web = door_for(API, "web", "s1")
    adm = rules.admit(s, stranger, NEW, api_web, override=True)
    assert adm.overridden == ("not_registered", "code_required")
    refused("not_registered", s, attendee=stranger, door=door_for(SCANNER, None, "s1"),
            override=True)
    refused("not_registered", s, attendee=stranger, override=True)


def test_override_never_lifts_already_checked_in() -> None:
    refused("already_checked_in", SessionView(id="s1"), record=IN_ROOM,
            door=door_for(SUPERVISOR, None, "s1"), override=True)


def test_unknown_source_is_invalid() -> None:
    with pytest.raises(Invalid):
        door_for(API, "carrier-pigeon", "s1")


# --- time ------------------------------------------------------------------------------------


def test_total_time_sums_intervals() -> None:
    assert rules.total_seconds(600, None, T0) == 600
    assert rules.total_seconds(600, T0, T0 + dt.timedelta(minutes=5)) == 900


def test_percent_against_scheduled_length() -> None:
    length = rules.scheduled_seconds(dt.time(9), dt.time(10))
    assert length == 3600
    assert rules.percent_attended(2700, length) == 75.0
    assert rules.percent_attended(7200, length) == 100.0
    assert rules.percent_attended(100, None) is None


def test_backdated_scans_only_from_staff_and_api_and_never_backwards() -> None:
    now = T0 + dt.timedelta(hours=1)
    earlier = T0 + dt.timedelta(minutes=10)
    scan = door_for(SCANNER, None, "s1")
    assert rules.action_time(scan, earlier, now, NEW, "checkin") == earlier
    assert rules.action_time(web(), earlier, now, NEW, "checkin") == now
    with pytest.raises(Invalid):
        rules.action_time(scan, now + dt.timedelta(hours=1), now, NEW, "checkin")
    with pytest.raises(Invalid):
        rules.action_time(scan, T0 - dt.timedelta(minutes=1), now, IN_ROOM, "checkout")


def test_duration_format() -> None:
    assert rules.format_duration(3723) == "01:02:03"
    assert rules.format_duration(None) is None


def test_a_scans_time_may_be_from_the_start_of_its_day_less_the_late_hours() -> None:
    chicago = ZoneInfo("America/Chicago")
    now = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    day = dt.date(2026, 3, 1)
    assert rules.earliest_scan(day, chicago, now) == dt.datetime(2026, 2, 28, 6, tzinfo=dt.UTC)
    assert rules.earliest_scan(day, chicago, now, 0) == dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
    assert rules.earliest_scan(None, None, now, 0) == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    assert rules.earliest_scan(dt.date(1, 1, 1), None, now, 24) == now - dt.timedelta(hours=24)
    scan = door_for(SCANNER, None, "s1")
    earliest = rules.earliest_scan(day, chicago, now)
    assert rules.action_time(scan, earliest, now, NEW, "checkin", earliest=earliest) == earliest
    with pytest.raises(Invalid, match="too early"):
        rules.action_time(scan, earliest - dt.timedelta(seconds=1), now, NEW, "checkin",
                          earliest=earliest)
