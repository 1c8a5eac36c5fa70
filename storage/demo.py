"""The demo event's data: a dozen sessions, attendees and their registrations."""

from __future__ import annotations

import datetime as dt
import random
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import ensure_app_row
from storage.sessions import insert_session
from storage.tables import (
    T_APP,
    T_ATTENDEES,
    T_CODEWORDS,
    T_COUNTERS,
    T_FIELDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)

FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
         "Rowan", "Dana", "Noor", "Mateo", "Yuki", "Priya", "Olu", "Ines", "Lars", "Mei"]
LAST = ["Example", "Garcia", "Smith", "Okafor", "Nguyen", "Kowalski", "Haddad", "Silva", "Berg",
        "Tanaka", "Patel", "Murphy", "Rossi", "Dubois", "Kim", "Novak", "Ali", "Costa"]

SESSIONS = [
    ("Opening Keynote: The Future of Audit", "Main Hall", "09:00", "10:00", 600, None, "in-person"),
    ("Ethics in Practice", "Ballroom A", "10:30", "11:45", 120, "ETHICS", "in-person"),
    ("Tax Update 2026", "Ballroom B", "10:30", "11:45", 150, None, "hybrid"),
    ("Data Analytics for Accountants", "Room 101", "10:30", "11:45", 60, None, "in-person"),
    ("Lunch & Learn: Fraud Stories", "Terrace", "12:00", "13:00", 80, None, "in-person"),
    ("Cybersecurity Essentials", "Room 102", "13:15", "14:30", 60, "CYBER", "hybrid"),
    ("Leadership Roundtable", "Room 103", "13:15", "14:30", 25, None, "in-person"),
    ("Governmental Accounting", "Ballroom A", "13:15", "14:30", 120, None, "in-person"),
    ("AI and the Profession", "Ballroom B", "15:00", "16:15", 150, "AI", "virtual"),
    ("Nonprofit Reporting", "Room 101", "15:00", "16:15", 60, None, "in-person"),
    ("Closing Panel", "Main Hall", "16:30", "17:30", 600, None, "in-person"),
    ("Speaker Green Room", "Suite 5", "08:00", "18:00", 20, None, "in-person"),
]



async def demo_present(conn: AsyncConnection) -> tuple[int, int]:
    """(demo sessions, attendees) already in the database."""
    await ensure_app_row(conn)
    existing = (
        await conn.execute(sa.select(sa.func.count()).select_from(T_SESSIONS)
                           .where(T_SESSIONS.c.external_id.like("DEMO-%")))
    ).scalar_one()
    n_att = (await conn.execute(sa.select(sa.func.count()).select_from(T_ATTENDEES))).scalar_one()
    return int(existing), int(n_att)


async def seed(conn: AsyncConnection, *, attendees: int) -> tuple[int, int]:
    """Insert the demo event; (sessions, attendees) made."""
    rng = random.Random(2026)
    today = dt.date.today()
    await conn.execute(
        sa.update(T_APP).where(T_APP.c.id == 1).values(
            name="Rollcall Demo Conference",
            start_date=today,
            end_date=today + dt.timedelta(days=1),
            timezone="America/Chicago",
            moderator_password="moderate",
            custom_attendee_field_1="Registration ID",
            custom_attendee_field_2="Region",
        )
    )
    session_ids: list[str] = []
    for i, (name, room, start, end, cap, code, fmt) in enumerate(SESSIONS):
        sid = await insert_session(conn, values=dict(
            external_id=f"DEMO-{i + 1:02d}",
            name=name,
            location=room,
            date=today,
            start_time=dt.time.fromisoformat(start),
            end_time=dt.time.fromisoformat(end),
            checkin_required=True,
            checkout_required=True,
            checkin_code=code,
            delivery_format=fmt,
            capacity=cap,
            registrants_only=(name == "Leadership Roundtable"),
            registration_levels=["Speaker"] if name == "Speaker Green Room" else None,
            ce_minutes=60 if i not in (4, 11) else None,
            rank=10 if i == 0 else 0,
            hidden=(name == "Speaker Green Room"),
        ))
        session_ids.append(sid)
        if i in (1, 2, 5):
            result = await conn.execute(
                sa.insert(T_FIELDS).values(
                    session_id=sid, position=0, name=["Ethics", "Taxes", "Technology"][i % 3],
                    credits="1.5",
                ).returning(T_FIELDS.c.id)
            )
            fid = result.scalar_one()
            for k, word in enumerate(["ledger", "balance"]):
                await conn.execute(
                    sa.insert(T_CODEWORDS).values(field_id=fid, position=k, word=word)
                )

    levels = ["Full", "Full", "Full", "One Day", "Student", "Speaker"]
    created = datetime.now(UTC)
    rows = []
    for n in range(attendees):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(dict(
            external_id=f"A{n + 1:05d}",
            email=f"{first}.{last}.{n + 1}@example.com".lower(),
            email_lower=f"{first}.{last}.{n + 1}@example.com".lower(),
            first_name=first,
            last_name=last,
            badge_id=f"B{n + 1:06d}",
            registration_level=rng.choice(levels),
            field_1=f"REG-{n + 1:05d}",
            field_2=rng.choice(["North", "South", "East", "West"]),
            created_at=created,
        ))
    await conn.execute(sa.insert(T_ATTENDEES), rows)
    ids = [r.id for r in await conn.execute(sa.select(T_ATTENDEES.c.id).order_by(T_ATTENDEES.c.id))]
    regs = []
    for aid in ids:
        for sid in rng.sample(session_ids[:11], 4):
            regs.append(dict(session_id=sid, attendee_id=aid, created_at=created))
    await conn.execute(sa.insert(T_REGISTRATIONS), regs)
    for sid in session_ids:
        count = sum(1 for r in regs if r["session_id"] == sid)
        await conn.execute(
            sa.update(T_COUNTERS).where(T_COUNTERS.c.session_id == sid).values(registered=count)
        )

    return len(session_ids), len(ids)
