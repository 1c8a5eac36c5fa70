"""The verification that makes a benchmark run count: the database holds exactly the check-ins
the doors were told were accepted (nothing lost, nothing doubled), ``in_room`` never passed
capacity, and every dashboard ended showing the database's counts.

Reads the database directly (SQLAlchemy Core on the storage tables), not through the hub.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub.config import parse_database_url
from storage.engine import make_sync_engine
from storage.tables import T_ATTENDEES, T_COUNTERS, T_HISTORY, T_RECORDS

COUNT_KEYS = ("registered", "checked_in", "in_room", "checked_out", "capacity", "remaining")


@dataclass
class DbState:
    checked_in: set[str]  # external ids with a check-in record
    in_room: int  # records whose attendee is in the room now
    history_checkins: Counter[str]  # external id -> check-in history entries
    counter: dict[str, Any]  # the session's counter row


def read_db(database_url: str, session: str) -> DbState:
    engine = make_sync_engine(parse_database_url(database_url))
    try:
        with engine.connect() as conn:
            people = T_RECORDS.join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id)
            rows = conn.execute(
                sa.select(T_ATTENDEES.c.external_id, T_RECORDS.c.in_since)
                .select_from(people)
                .where(T_RECORDS.c.session_id == session, T_RECORDS.c.checkin_time.is_not(None))
            ).all()
            hist = conn.execute(
                sa.select(T_ATTENDEES.c.external_id, sa.func.count())
                .select_from(
                    T_HISTORY.join(T_RECORDS, T_RECORDS.c.id == T_HISTORY.c.record_id)
                    .join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id)
                )
                .where(T_RECORDS.c.session_id == session, T_HISTORY.c.action == "checkin")
                .group_by(T_ATTENDEES.c.external_id)
            ).all()
            counter = conn.execute(
                sa.select(T_COUNTERS).where(T_COUNTERS.c.session_id == session)
            ).mappings().first()
    finally:
        engine.dispose()
    return DbState(
        checked_in={str(r[0]) for r in rows},
        in_room=sum(1 for r in rows if r[1] is not None),
        history_checkins=Counter({str(r[0]): int(r[1]) for r in hist}),
        counter=dict(counter) if counter else {},
    )


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def check(self, name: str, passed: bool, detail: str, value: Any = None) -> None:
        self.checks[name] = {"ok": passed, "value": value}
        if not passed:
            self.failures.append(f"{name}: {detail}")


def _sample(items: set[str], n: int = 5) -> str:
    return ", ".join(sorted(items)[:n]) + (" ..." if len(items) > n else "")


def verify(
    *,
    db: DbState,
    acked: dict[str, set[int]],
    mismatched: int,
    capacity: int | None,
    max_in_room_answered: int,
    api_counts: dict[str, Any],
    dashboards: list[dict[str, Any]],
    expect_dashboards: int,
) -> Verdict:
    """``acked``: external id -> the seqs of its 200 answers (a retry repeats the seq)."""
    v = Verdict()
    acked_ids = set(acked)
    lost = acked_ids - db.checked_in
    v.check("nothing_lost", not lost,
            f"{len(lost)} acknowledged check-ins are not in the database: {_sample(lost)}",
            len(lost))
    extra = db.checked_in - acked_ids
    v.check("nothing_unacknowledged", not extra,
            f"{len(extra)} check-ins in the database were never acknowledged: {_sample(extra)}",
            len(extra))
    doubled_db = {k for k, c in db.history_checkins.items() if c > 1}
    doubled_ack = {k for k, seqs in acked.items() if len(seqs) > 1}
    v.check("nothing_doubled", not doubled_db and not doubled_ack,
            f"{len(doubled_db)} attendees have several check-in history entries "
            f"({_sample(doubled_db)}); {len(doubled_ack)} were acknowledged under different seqs "
            f"({_sample(doubled_ack)})", len(doubled_db) + len(doubled_ack))
    all_seqs = [s for seqs in acked.values() for s in seqs]
    v.check("distinct_seqs", len(all_seqs) == len(set(all_seqs)),
            "two different check-ins were acknowledged with the same seq",
            len(all_seqs) - len(set(all_seqs)))
    v.check("answers_match_requests", mismatched == 0,
            f"{mismatched} accepted answers named another attendee than the badge scanned",
            mismatched)
    counter_in_room = int(db.counter.get("in_room", -1))
    v.check("counter_matches_records", counter_in_room == db.in_room,
            f"counter row says in_room={counter_in_room}, records say {db.in_room}",
            [counter_in_room, db.in_room])
    if capacity is not None:
        dash_max = max((int(d.get("max_in_room") or 0) for d in dashboards), default=0)
        worst = max(max_in_room_answered, dash_max, db.in_room)
        v.check("capacity_held", worst <= capacity,
                f"in_room reached {worst} (answers {max_in_room_answered}, dashboards "
                f"{dash_max}, database {db.in_room}) with capacity {capacity}", worst)
    api_in_room = api_counts.get("in_room")
    api_checked_in = api_counts.get("checked_in")
    v.check("api_counts_match_db",
            api_in_room == db.in_room and api_checked_in == len(db.checked_in),
            f"GET /counts says in_room={api_in_room} checked_in={api_checked_in}; the database "
            f"has {db.in_room} in the room and {len(db.checked_in)} checked in",
            {"api": api_counts})
    if expect_dashboards:
        v.check("dashboards_connected", len(dashboards) == expect_dashboards,
                f"{len(dashboards)} of {expect_dashboards} dashboards reported",
                len(dashboards))
        want = {k: api_counts.get(k) for k in COUNT_KEYS}
        wrong = []
        for i, d in enumerate(dashboards):
            got = d.get("counts") or {}
            if d.get("failed") or {k: got.get(k) for k in COUNT_KEYS} != want:
                wrong.append((i, d.get("failed"), got))
        v.check("dashboards_converged", not wrong,
                f"{len(wrong)} dashboards do not show the database's counts {want}; first: "
                f"{wrong[:3]}", len(wrong))
    return v
