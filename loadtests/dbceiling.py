"""What PostgreSQL allows the door, with no hub at all: the check-in's writes in raw psycopg.

    python -m loadtests.dbceiling --batches 1,8,32 --concurrency 16 --duration 6

On a fresh database migrated to the hub's schema, N concurrent connections each run, per
transaction, the writes one check-in (or a batch of k) makes: upsert the attendance records
and append their history (one statement), move the session's counter row by k and take the
seqs (the hot row, held until commit), insert k events and k idempotency keys; then a durable
commit. Prints check-ins per second for each batch size. This is the bound a hub that spends
no CPU of its own could reach; it shows why one transaction per check-in cannot go far past
the rate at which the counter row can be committed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

from loadtests.harness import fresh_database, rollcall_cli

SETUP = [
    "INSERT INTO sessions (id, name, created_at) VALUES ('dbceil', 'Keynote', now())",
    "INSERT INTO session_counters (session_id, seq, registered, checked_in, in_room, epoch) "
    "VALUES ('dbceil', 0, 0, 0, 0, 'e')",
    "INSERT INTO attendees (external_id, badge_id, created_at) "
    "SELECT 'E' || g, 'B' || g, now() FROM generate_series(1, %s) g",
]
RECORDS = """
WITH a AS (SELECT id FROM attendees WHERE badge_id = ANY(%s)),
r AS (INSERT INTO checkin_records (session_id, attendee_id, seconds_attended,
                                   evaluation_complete, updated_seq, checkin_time,
                                   checkin_time_actual, in_since)
      SELECT 'dbceil', a.id, 0, false, 0, now(), now(), now() FROM a
      ON CONFLICT (session_id, attendee_id) DO UPDATE SET in_since = excluded.in_since
      RETURNING id)
INSERT INTO checkin_history (record_id, action, timestamp, source)
SELECT id, 'checkin', now(), 'scan' FROM r
"""
GATE = ("UPDATE session_counters SET seq = seq + %s, in_room = in_room + %s, "
        "checked_in = checked_in + %s WHERE session_id = 'dbceil' RETURNING seq")
EVENTS = ("INSERT INTO session_events (session_id, seq, kind, payload, created_at) "
          "SELECT 'dbceil', s, 'checkin', %s, now() FROM generate_series(%s::bigint, %s::bigint) s")
KEYS = ("INSERT INTO idempotency_keys (key, session_id, response, created_at) "
        "SELECT k, 'dbceil', %s, now() FROM unnest(%s::text[]) k")


async def measure(url: str, batch: int, concurrency: int, duration: float, start: int) -> float:
    import psycopg

    badges = iter(range(start, 10**9))
    done = 0

    async def door() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(url) as conn:
            end = time.monotonic() + duration
            while time.monotonic() < end:
                ids = [f"B{next(badges)}" for _ in range(batch)]
                async with conn.transaction():
                    await conn.execute(RECORDS, (ids,))
                    cur = await conn.execute(GATE, (batch, batch, batch))
                    row = await cur.fetchone()
                    assert row is not None
                    seq = int(row[0])
                    await conn.execute(EVENTS, (b"x" * 600, seq - batch + 1, seq))
                    await conn.execute(KEYS, (b"y" * 1200,
                                              [uuid.uuid4().hex for _ in range(batch)]))
                done += batch

    t0 = time.monotonic()
    await asyncio.gather(*(door() for _ in range(concurrency)))
    return done / (time.monotonic() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,8,32", help="check-ins per transaction")
    p.add_argument("--concurrency", type=int, default=16, help="connections writing at once")
    p.add_argument("--duration", type=float, default=6.0)
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    with TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp)) as url:
        rollcall_cli({"ROLLCALL_DATABASE_URL": url}, "migrate")
        import psycopg

        per_run = int(15000 * args.duration)  # badges per batch size, past any rate seen
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SETUP[0])
            conn.execute(SETUP[1])
            conn.execute(SETUP[2], (per_run * len(batches),))
        import uvloop

        print("check-in writes per transaction | concurrency | check-ins/s")
        for i, b in enumerate(batches):
            rate = uvloop.run(measure(url, b, args.concurrency, args.duration, i * per_run + 1))
            print(f"{b:>31} | {args.concurrency:>11} | {rate:,.0f}")


if __name__ == "__main__":
    main()
