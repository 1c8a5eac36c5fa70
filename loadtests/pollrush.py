"""The poll rush, from nothing: ``python -m loadtests.pollrush``.

It starts a hub (``loadtests.harness.deployment``: a fresh database, a unique Redis prefix, an
API key), creates a session, N attendees and one open poll, connects M dashboards
(``/ws/sessions/{id}``, spread over the workers by the kernel), then has every attendee answer
the poll once (C requests in flight; a tenth of them change their answer afterwards), as a
hall of phones does when the moderator says "vote now". It measures:

- **votes/s**: acknowledged answers per second of the rush;
- **push lag**: for every ``polls`` frame a dashboard receives, the time since the vote that
  made its total (the total-th acknowledgement) was acknowledged; median, p95 and max;
- **convergence**: the time from the last acknowledgement until every dashboard shows the
  final results.

It then checks: every vote counted exactly once (the database holds one answer per attendee,
the tally equals the answers the voters were told were stored) and every dashboard ended on
exactly that tally. It prints one JSON document and exits non-zero when a check fails.

    python -m loadtests.pollrush --db postgresql --broker redis --workers 2 \\
        --attendees 2000 --dashboards 100 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

from loadtests.harness import BenchError, deployment, expect_ok, external_id

CHOICES = ["Sampling", "Fraud", "Controls", "Tax"]


def choice_of(i: int, changed: bool = False) -> str:
    return CHOICES[(i * 7 + (3 if changed else 0)) % len(CHOICES)]


class Board:
    """One dashboard: remembers when each ``polls`` frame arrived and the poll's results."""

    changed = asyncio.Event()  # any board got a polls frame

    def __init__(self, url: str, key: str, poll_id: str) -> None:
        self.url, self.key, self.poll_id = url, key, poll_id
        self.frames: list[tuple[float, int]] = []  # (arrival, total)
        self.results: dict[str, Any] | None = None
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self.ws = await websockets.connect(self.url, additional_headers={"API-Key": self.key},
                                           max_size=None)
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg["type"] == "ping":
                    await self.ws.send('{"type": "pong"}')
                elif msg["type"] == "polls":
                    for p in msg["polls"]:
                        if p["id"] == self.poll_id:
                            self.results = p.get("results")
                            total = (self.results or {}).get("total", 0)
                            self.frames.append((time.monotonic(), total))
                            self.ready.set()
                            Board.changed.set()
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.ws.close()
        if self.task is not None:
            await self.task


async def rush(base: str, ws_base: str, key: str, attendees: int, dashboards: int,
               concurrency: int, change_every: int,
               hub_cpu: Callable[[], float] = lambda: 0.0) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6].upper()
    async with httpx.AsyncClient(base_url=base, headers={"API-Key": key}, timeout=60,
                                 limits=httpx.Limits(max_connections=concurrency)) as api:
        sid = expect_ok(await api.post("/api/v2/sessions", json={"name": "Poll rush"}),
                        "session")["id"]
        for start in range(0, attendees, 2000):
            people = [{"external_id": external_id(run, i), "first_name": f"Voter{i}",
                       "last_name": "Rush", "email": f"{run.lower()}-{i}@bench.example"}
                      for i in range(start, min(attendees, start + 2000))]
            expect_ok(await api.post("/api/v2/attendees", json=people), "attendees")
        poll = expect_ok(await api.post(f"/api/v2/sessions/{sid}/polls", json={
            "name": "Which topic next?", "choices": CHOICES}), "poll")
        pid = poll["id"]
        expect_ok(await api.post(f"/api/v2/sessions/{sid}/polls/{pid}/open"), "open")

        boards = [Board(f"{ws_base}/ws/sessions/{sid}", key, pid) for _ in range(dashboards)]
        for i in range(0, len(boards), 50):
            await asyncio.gather(*(b.start() for b in boards[i:i + 50]))
        await asyncio.wait_for(asyncio.gather(*(b.ready.wait() for b in boards)), 60)

        acks: list[float] = []
        failures: list[str] = []
        told: dict[int, str] = {}  # what each voter was told is stored
        first = [(i, choice_of(i)) for i in range(attendees)]
        changes = [(i, choice_of(i, changed=True)) for i in range(0, attendees, change_every)]

        async def answer(i: int, choice: str) -> httpx.Response | None:
            """A phone retries an answer the network lost: answering is idempotent (the
            attendee's one answer is replaced by the same one)."""
            for _ in range(4):
                try:
                    return await api.post(f"/api/v2/sessions/{sid}/polls/{pid}/responses",
                                          json={"response": choice,
                                                "external_id": external_id(run, i)})
                except httpx.TransportError:
                    retries.append(i)
                    await asyncio.sleep(0.2)
            return None

        retries: list[int] = []

        async def phase(items: list[tuple[int, str]]) -> None:
            todo = iter(items)

            async def voter() -> None:
                for i, choice in todo:
                    r = await answer(i, choice)
                    if r is None or r.status_code != 200:
                        failures.append(f"{i}: {r.status_code if r else 'network'} "
                                        f"{r.text[:200] if r else ''}")
                        continue
                    if i not in told:
                        acks.append(time.monotonic())
                    told[i] = r.json()["data"]["response"]

            await asyncio.gather(*(voter() for _ in range(concurrency)))

        # Everyone answers; then some change their mind (which must not add to the total).
        t0, cpu0 = time.monotonic(), hub_cpu()
        await phase(first)
        await phase(changes)
        t_end, cpu_used = time.monotonic(), hub_cpu() - cpu0
        work = first + changes
        last_ack = max(acks) if acks else t_end

        want: dict[str, int] = dict.fromkeys(CHOICES, 0)
        for c in told.values():
            want[c] += 1
        expected = {"total": len(told), "counts": want}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(b.results != expected for b in boards):
            Board.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(Board.changed.wait(), deadline - time.monotonic())
        converged = [max((t for t, _ in b.frames), default=t_end) for b in boards]
        stored = expect_ok(await api.get(f"/api/v2/sessions/{sid}/data"), "data")["polls"][pid]
        for b in boards:
            await b.close()

    acks.sort()
    lags = [t - acks[total - 1] for b in boards for t, total in b.frames
            if 0 < total <= len(acks) and t >= t0]
    responses = stored["responses"] or []
    per_attendee = {r["external_id"] for r in responses}
    db_counts = dict.fromkeys(CHOICES, 0)
    for r in responses:
        db_counts[r["response"]] += 1
    checks = {
        "every_vote_acknowledged": not failures,
        "one_answer_per_attendee": len(responses) == len(per_attendee) == attendees,
        "database_equals_what_voters_were_told": db_counts == want,
        "every_dashboard_converged": all(b.results == expected for b in boards),
    }

    def ms(x: float) -> float:
        return round(x * 1000, 1)

    frames = sum(len(b.frames) for b in boards)
    return {
        "attendees": attendees, "dashboards": dashboards, "concurrency": concurrency,
        "requests": len(work), "changes_of_mind": len(work) - attendees,
        "rush_seconds": round(t_end - t0, 3),
        "votes_per_second": round(len(work) / (t_end - t0), 1),
        # Steadier than votes/s on a shared machine: the hub's own CPU per answer (its
        # processes' user + system time during the rush, the dashboards' frames included).
        "hub_cpu_ms_per_vote": round(cpu_used * 1000 / len(work), 2),
        "push_lag_ms": {"median": ms(statistics.median(lags)) if lags else None,
                        "p95": ms(sorted(lags)[int(len(lags) * 0.95) - 1]) if lags else None,
                        "max": ms(max(lags)) if lags else None},
        "converged_after_last_ack_ms": ms(max(converged) - last_ack) if converged else None,
        "polls_frames_per_dashboard": round(frames / max(1, dashboards), 1),
        "network_retries": len(retries),
        "checks": checks, "failures": failures[:10],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    ap.add_argument("--broker", choices=["memory", "redis"], default="redis")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--attendees", type=int, default=2000)
    ap.add_argument("--dashboards", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--change-every", type=int, default=10,
                    help="every Nth attendee changes their answer afterwards")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args(argv)
    try:
        with deployment(args.db, args.broker, args.workers, args.workdir) as d:
            ws = d.hub.url.replace("http://", "ws://")
            out = asyncio.run(rush(d.hub.url, ws, d.api_key, args.attendees, args.dashboards,
                                   args.concurrency, args.change_every, d.hub.cpu_seconds))
            out["machine_load_1min"] = round(os.getloadavg()[0], 1)
    except BenchError as exc:
        print(f"pollrush: {exc}", file=sys.stderr)
        return 2
    out.update(db=args.db, broker=args.broker, workers=args.workers)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if all(out["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
