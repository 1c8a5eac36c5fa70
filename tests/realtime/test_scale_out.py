"""Two real hub processes on one PostgreSQL and the CI's Redis act as one hub."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest
import websockets

from hub.auth.cookies import Signer
from hub.config import DatabaseURL
from tests.conftest import SECRET
from tests.livehub import LiveHub, start_hub
from tests.realtime.helpers import (
    Dashboard,
    Door,
    Event,
    attendee_id,
    healthz,
    make_event,
    wait_until,
)

pytestmark = pytest.mark.slow

HISTORY_LIMIT = 250
QUEUE_BYTES = 64 * 1024


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    """Several processes: PostgreSQL only."""
    return pg_db


@pytest.fixture(scope="module")
def two_hubs(pg_database: DatabaseURL, redis_run: tuple[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two hub processes for the whole module (each test makes its own sessions; ``db``
    empties the tables between tests, which the hubs do not mind)."""
    url, prefix = redis_run
    env = {"ROLLCALL_DATABASE_URL": pg_database.sync_url.replace("postgresql+psycopg",
                                                                  "postgresql"),
           "ROLLCALL_SECRET_KEY": SECRET, "ROLLCALL_PUBLIC_URL": "http://testserver",
           "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix,
           "ROLLCALL_WS_HISTORY_LIMIT": str(HISTORY_LIMIT),
           "ROLLCALL_WS_QUEUE_BYTES": str(QUEUE_BYTES), "ROLLCALL_WS_SNDBUF": "16384"}
    logs = tmp_path_factory.mktemp("hubs")
    a = start_hub(env, logs)
    try:
        b = start_hub(env, logs)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def dashboard(hub: LiveHub, event: Event, **kw: object) -> Dashboard:
    return Dashboard(f"{hub.ws_url}/ws/sessions/{event.session_id}",
                     headers={"API-Key": event.api_key}, **kw)  # type: ignore[arg-type]


async def test_a_checkin_through_worker_a_reaches_a_dashboard_on_worker_b(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = two_hubs
    (event,) = await make_event(db, attendees=3)
    on_b = await dashboard(b, event).connect()
    door = Door([a.url], event)
    try:
        await on_b.wait_seq(0)
        assert await door.act("checkin", 0) == 200
        await on_b.wait_seq(1)
        arrival = next(f for f in on_b.frames if f["type"] == "checkin")
        assert arrival["record"]["user"]["external_id"] == "A0"
        await on_b.wait_counts(await door.counts())
        assert on_b.counts is not None and on_b.counts["in_room"] == 1
    finally:
        await on_b.close()
        await door.close()


async def test_an_attendees_status_changed_through_worker_b_is_pushed_on_worker_a(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    """The attendee's phone listens on worker A; the door and the credit site's "claimed"
    call reach worker B: each change arrives as a session_status frame (through Redis)."""
    a, b = two_hubs
    (event,) = await make_event(db, attendees=2)
    aid = await attendee_id(db, "A1")
    cookie = f"rollcall_attendee={Signer(SECRET).dumps({'aid': aid})}"
    key = {"API-Key": event.api_key}
    base = f"{b.url}/api/v2/sessions/{event.session_id}"

    async with websockets.connect(f"{a.ws_url}/ws/attendee/{event.session_id}",
                                  additional_headers={"cookie": cookie}) as ws, \
            httpx.AsyncClient(headers=key, timeout=10) as http:

        async def pushed() -> dict[str, Any]:
            async with asyncio.timeout(10):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "session_status":
                        return dict(frame)

        assert json.loads(await ws.recv())["type"] == "me"
        assert (await http.post(f"{base}/attendance/checkin",
                                json={"external_id": "A0"})).status_code == 200
        assert (await http.post(f"{base}/attendance/checkin",
                                json={"external_id": "A1"})).status_code == 200
        assert (await pushed())["state"] == "checked_in"  # A0's check-in pushed nothing
        assert (await http.post(f"{base}/attendance/checkout",
                                json={"external_id": "A1"})).status_code == 200
        assert (await pushed())["state"] == "checked_out"
        assert (await http.post(f"{base}/attendance/claimed",
                                json={"external_id": "A1"})).status_code == 200
        claimed = await pushed()
        assert (claimed["state"], claimed["message"]) == ("credit_claimed", "CE credit claimed")


async def test_a_capacity_change_or_deletion_through_worker_a_reaches_worker_b(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    """No check-in needed: editing the session is enough for every dashboard to show it."""
    a, b = two_hubs
    (event,) = await make_event(db, attendees=3, capacity=10)
    on_b = await dashboard(b, event).connect()
    door = Door([a.url], event)
    try:
        assert await door.act("checkin", 0) == 200
        await on_b.wait_seq(1)
        r = await door.client.put(f"{a.url}/api/v2/sessions/{event.session_id}",
                                  json={"capacity": 2})
        assert r.status_code == 200, r.text
        await on_b.wait_counts(await door.counts())
        assert on_b.counts is not None
        assert (on_b.counts["capacity"], on_b.counts["remaining"]) == (2, 1)
        r = await door.client.delete(f"{a.url}/api/v2/sessions/{event.session_id}")
        assert r.status_code == 204
        await on_b.wait_for(lambda d: d.close_code is not None, 15, "closed")
        assert on_b.close_code == 4404
    finally:
        await on_b.close()
        await door.close()


async def test_500_checkins_over_both_workers_reach_dashboards_on_both_in_order(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = two_hubs
    (event,) = await make_event(db, attendees=500)
    boards = [await dashboard(h, event).connect() for h in (a, b, a, b)]
    door = Door([a.url, b.url], event, concurrency=12)
    try:
        for d in boards:
            await d.wait_seq(0)
        await door.checkin_many(range(500))
        assert door.failures == []
        final = await door.counts()
        assert final["in_room"] == 500
        for d in boards:
            await d.wait_seq(500, within=30)
            await d.wait_counts(final)
            assert d.problems == []
            assert d.delta_seqs == list(range(1, 501))
    finally:
        for d in boards:
            await d.close()
        await door.close()


async def test_a_dashboard_that_drops_during_a_burst_resumes_with_since(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = two_hubs
    (event,) = await make_event(db, attendees=520)
    door = Door([a.url, b.url], event, concurrency=12)
    board = await dashboard(b, event).connect()
    try:
        await door.checkin_many(range(10))
        await board.wait_seq(10)
        # Wi-Fi drops in the middle of a burst of 200 check-ins.
        burst = asyncio.create_task(door.checkin_many(range(10, 210)))
        await board.wait_seq(30)
        await board.close()
        left_at = board.seq
        assert left_at is not None
        await burst
        resumed = dashboard(a, event)
        resumed.seq, resumed.epoch = left_at, board.epoch
        await resumed.connect(since=left_at)
        final = await door.counts()
        assert final["checked_in"] == 210
        await resumed.wait_seq(210)
        await resumed.wait_counts(final)
        assert resumed.snapshots == 0, "a resume inside the history limit is deltas only"
        assert resumed.delta_seqs == list(range(left_at + 1, 211))
        assert resumed.problems == []
        await resumed.close()

        # Past the history limit: a fresh snapshot, and it still converges.
        await door.checkin_many(range(210, 210 + HISTORY_LIMIT + 50))
        late = dashboard(b, event)
        late.seq, late.epoch = 210, board.epoch
        await late.connect(since=210)
        final = await door.counts()
        await late.wait_counts(final)
        assert late.snapshots == 1 and late.frames[0]["type"] == "snapshot"
        assert late.seq == 210 + HISTORY_LIMIT + 50
        await late.close()
        assert door.failures == []
    finally:
        await door.close()


def _stalled_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer: it stops reading, the window closes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


async def test_a_client_that_stops_reading_is_closed_4008_and_others_get_everything(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = two_hubs
    (event,) = await make_event(db, attendees=1500)
    door = Door([a.url, b.url], event, concurrency=12)
    keeper = await dashboard(a, event).connect()
    stalled = [await dashboard(a, event, read=False, sock=_stalled_socket(a.port))
               .connect(max_queue=1, compression=None) for _ in range(5)]
    proc = psutil.Process(a.proc.pid)
    try:
        await keeper.wait_seq(0)
        rss_before = proc.memory_info().rss
        peak_queued = 0
        closed_before = (await healthz(a.url))["broker"]["local"]["closed_too_slow"]

        async def closed_all() -> bool:
            nonlocal peak_queued
            local = (await healthz(a.url))["broker"]["local"]
            peak_queued = max(peak_queued, local["queued_bytes"])
            return bool(local["closed_too_slow"] - closed_before >= len(stalled))

        # Check-ins keep coming until the hub has dropped every stalled client (10 s at most).
        stop = asyncio.Event()
        burst = asyncio.create_task(door.checkin_many(range(1500), stop=stop))
        try:
            await wait_until(closed_all, 10, "every stalled client closed with 4008",
                             interval=0.2)
        finally:
            stop.set()
            await burst
        rss_after = proc.memory_info().rss
        after_close = (await healthz(a.url))["broker"]["local"]
        final = await door.counts()
        await keeper.wait_counts(final, within=20)
        await keeper.wait_seq(final["checked_in"])
        assert keeper.problems == [] and keeper.close_code is None

        # A stalled client that reads again finds the backlog, then close code 4008.
        for s in stalled:
            assert s.ws is not None
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(s.ws.recv(), timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        # Each queue stayed under its bound, and the stalled clients' queues were freed at
        # once: what they never read is not held by the hub.
        assert peak_queued <= (len(stalled) + 1) * QUEUE_BYTES
        assert after_close["queued_bytes"] <= QUEUE_BYTES
        assert rss_after - rss_before < 20 * 1024 * 1024, (
            f"RSS grew {(rss_after - rss_before) / 1e6:.1f} MB")
    finally:
        await keeper.close()
        await door.close()


async def test_wrong_or_missing_credentials_are_refused_at_the_handshake(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, _ = two_hubs
    (event,) = await make_event(db, attendees=1)
    for headers in ({}, {"API-Key": "rc_wrong"}):
        async with websockets.connect(f"{a.ws_url}/ws/sessions/{event.session_id}",
                                      additional_headers=headers) as ws:
            if not headers:
                await ws.send('{"type": "auth", "password": "guess"}')
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with websockets.connect(f"{a.ws_url}/ws/event",
                                  additional_headers={"API-Key": "rc_wrong"}) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_serve_with_several_workers_acts_as_one_hub(
        db: DatabaseURL, hub_env: dict[str, str], redis_run: tuple[str, str],
        live_hubs: Callable[..., LiveHub]) -> None:
    url, prefix = redis_run
    hub = live_hubs({**hub_env, "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix},
                    workers=2)
    (event,) = await make_event(db, attendees=100)
    # Whichever worker takes each connection and each check-in, every dashboard converges
    # (the explicit cross-worker case, with known workers, is the first test above).
    boards = [await dashboard(hub, event).connect() for _ in range(8)]
    door = Door([hub.url], event, concurrency=8)
    try:
        await door.checkin_many(range(100))
        final = await door.counts()
        for d in boards:
            await d.wait_counts(final)
            await d.wait_seq(100)
            assert d.problems == [] and d.delta_seqs == list(range(1, 101))
    finally:
        for d in boards:
            await d.close()
        await door.close()
