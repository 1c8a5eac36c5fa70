"""Live engagement across two real hub processes on PostgreSQL and real Redis: polls, their
results and questions reach dashboards and attendees on the other worker; results are
coalesced and converge on the exact tally; the attendee channel carries the open poll and the
evaluation's unlock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.auth.cookies import ATTENDEE_COOKIE, Signer
from hub.config import DatabaseURL
from tests.conftest import SECRET
from tests.livehub import LiveHub, start_hub
from tests.realtime.helpers import Dashboard, Event, attendee_id, make_event

pytestmark = pytest.mark.slow

COUNTS_HZ = 4


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    """Several processes: PostgreSQL only."""
    return pg_db


@pytest.fixture(scope="module")
def two_hubs(pg_database: DatabaseURL, redis_run: tuple[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveHub, LiveHub]]:
    url, prefix = redis_run
    env = {"ROLLCALL_DATABASE_URL": pg_database.sync_url.replace("postgresql+psycopg",
                                                                  "postgresql"),
           "ROLLCALL_SECRET_KEY": SECRET, "ROLLCALL_PUBLIC_URL": "http://testserver",
           "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix,
           "ROLLCALL_WS_COUNTS_HZ": str(COUNTS_HZ)}
    logs = tmp_path_factory.mktemp("engage-hubs")
    a = start_hub(env, logs, deadline_s=120)
    try:
        b = start_hub(env, logs, deadline_s=120)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def of_type(view: Dashboard, kind: str) -> list[dict[str, Any]]:
    return [f for f in view.frames if f["type"] == kind]


def latest(view: Dashboard, kind: str) -> dict[str, Any] | None:
    frames = of_type(view, kind)
    return frames[-1] if frames else None


def poll_in(view: Dashboard, pid: str) -> dict[str, Any] | None:
    frame = latest(view, "polls")
    return next((p for p in frame["polls"] if p["id"] == pid), None) if frame else None


async def attendee_view(hub: LiveHub, db: DatabaseURL, event: Event, ext: str) -> Dashboard:
    aid = await attendee_id(db, ext)
    cookie = f"{ATTENDEE_COOKIE}={Signer(SECRET).dumps({'aid': aid})}"
    return await Dashboard(f"{hub.ws_url}/ws/attendee/{event.session_id}",
                           headers={"cookie": cookie}).connect()


async def test_poll_results_reach_the_other_worker_coalesced_and_exact(
        db: DatabaseURL, two_hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = two_hubs
    (event,) = await make_event(db, attendees=40)
    sid = event.session_id
    dash = await Dashboard(f"{b.ws_url}/ws/sessions/{sid}",
                           headers={"API-Key": event.api_key}).connect()
    phone = await attendee_view(b, db, event, "A0")
    api = httpx.AsyncClient(timeout=30, headers={"API-Key": event.api_key})
    try:
        # Nothing to show yet: no engagement frames on connect (none means none).
        await dash.wait_for(lambda d: d.snapshots == 1, 15, "the snapshot")
        await phone.wait_for(lambda d: latest(d, "me") is not None, 15, "the attendee's status")
        assert latest(dash, "polls") is None and latest(phone, "evaluation") is None
        r = await api.post(f"{a.url}/api/v2/sessions/{sid}/polls",
                           json={"name": "Best talk?", "choices": ["One", "Two", "Three"]})
        pid = r.json()["data"]["id"]
        await dash.wait_for(lambda d: poll_in(d, pid) is not None, 15, "the draft poll")
        assert poll_in(dash, pid)["state"] == "draft"  # type: ignore[index]

        await api.post(f"{a.url}/api/v2/sessions/{sid}/polls/{pid}/open")
        await phone.wait_for(lambda d: poll_in(d, pid) is not None, 15, "the open poll")
        shown = poll_in(phone, pid)
        assert shown is not None and shown["state"] == "open" and "results" not in shown

        # 40 attendees vote through both workers at once, some twice (the last one counts).
        choices = ["One", "Two", "Three"]
        before = len(of_type(dash, "polls"))
        started = time.monotonic()

        async def vote(i: int, response: str) -> None:
            url = (a, b)[i % 2].url
            r = await api.post(f"{url}/api/v2/sessions/{sid}/polls/{pid}/responses",
                               json={"response": response, "external_id": f"A{i}"})
            assert r.status_code == 200, r.text

        sem = asyncio.Semaphore(8)

        async def limited(i: int, response: str) -> None:
            async with sem:
                await vote(i, response)

        await asyncio.gather(*(limited(i, choices[i % 3]) for i in range(40)))
        await asyncio.gather(*(limited(i, "Three") for i in range(10)))
        elapsed = time.monotonic() - started
        want = {"One": 14 - 4, "Two": 13 - 3, "Three": 13 + 7}
        await dash.wait_for(lambda d: (poll_in(d, pid) or {}).get("results") == {
            "total": 40, "counts": want}, 15, f"results {want}")
        frames = len(of_type(dash, "polls")) - before
        # Coalesced: at most COUNTS_HZ a second (plus the trailing one), never one per vote.
        assert frames <= COUNTS_HZ * (time.monotonic() - started) + 2 and frames < 50, (
            frames, elapsed)

        # Revealed: the attendee sees the results too.
        await api.put(f"{a.url}/api/v2/sessions/{sid}/polls/{pid}", json={"revealed": True})
        await phone.wait_for(lambda d: (poll_in(d, pid) or {}).get("results", {}).get(
            "total") == 40, 15, "revealed results")

        # A moderator unlocks the evaluation through worker A: the phone on B is told.
        assert (await api.post(f"{a.url}/api/v2/sessions/{sid}/evaluation/unlock")
                ).status_code == 200
        await phone.wait_for(lambda d: (latest(d, "evaluation") or {}).get("open") is True,
                             15, "the evaluation unlocked")
        assert latest(phone, "evaluation")["opens_at"]  # type: ignore[index]

        # A question asked through A reaches the dashboard and the phone on B.
        r = await api.post(f"{a.url}/api/v2/sessions/{sid}/questions",
                           json={"question": "Where are the slides?", "external_id": "A1"})
        assert r.status_code == 201, r.text
        for view in (dash, phone):
            await view.wait_for(lambda d: [q["question"] for q in (latest(
                d, "questions") or {}).get("questions", [])] == ["Where are the slides?"],
                15, "the question")
        assert phone.problems == [] and dash.problems == []
    finally:
        await api.aclose()
        await dash.close()
        await phone.close()
