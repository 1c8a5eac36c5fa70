"""Codewords and credit adjustments change a record without a check-in or out: a real hub
sends them to open dashboards as ``updated`` deltas in ``seq`` order, and a dashboard that
connects later gets the fresh record in its snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from hub.auth.accounts import create_api_key
from hub.config import DatabaseURL
from tests.door.kit import make_attendees, make_session, run
from tests.livehub import LiveHub
from tests.realtime.helpers import Dashboard

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_codewords_and_credit_adjustments_reach_dashboards(
        db: DatabaseURL, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]) -> None:
    sid = await asyncio.to_thread(make_session, db,
                                  fields=[("Ethics", "2", ["ledger", "balance"])])
    await asyncio.to_thread(make_attendees, db, 1)
    _, key = await asyncio.to_thread(
        run, db, lambda conn: create_api_key(conn, description="dashboards"))
    hub = await asyncio.to_thread(live_hubs, hub_env)
    url = f"{hub.ws_url}/ws/sessions/{sid}"
    board = await Dashboard(url, headers={"API-Key": key}).connect()
    async with httpx.AsyncClient(base_url=f"{hub.url}/api/v2/sessions/{sid}/attendance",
                                 headers={"API-Key": key}, timeout=30) as api:
        try:
            await board.wait_seq(0)
            assert (await api.post("/checkin", json={"external_id": "A0001"})).status_code \
                == 200
            r = await api.post("/codeword", json={"external_id": "A0001", "codeword": "LEDGER"})
            assert r.status_code == 200, r.text
            await board.wait_seq(2)
            updated = board.frames[-1]
            assert (updated["type"], updated["seq"]) == ("updated", 2), updated
            field = updated["record"]["fields_of_study"][0]
            assert field["codewords"]["valid_list"] == ["ledger"]

            r = await api.post("/credits", json={"external_id": "A0001", "field": "Ethics",
                                                 "credits": "1", "note": "left early"})
            assert r.status_code == 200, r.text
            await board.wait_seq(3)
            updated = board.frames[-1]
            assert (updated["type"], updated["seq"]) == ("updated", 3), updated
            field = updated["record"]["fields_of_study"][0]
            assert field["credits"] == 1 and field["adjustment"]["note"] == "left early"
            assert board.problems == [] and board.delta_seqs == [1, 2, 3]

            late = await Dashboard(url, headers={"API-Key": key}).connect()
            try:
                await late.wait_seq(3)
                fresh = late.frames[0]["records"][0]["fields_of_study"][0]
                assert fresh["adjustment"]["note"] == "left early"
                assert fresh["codewords"]["valid_list"] == ["ledger"]
            finally:
                await late.close()
        finally:
            await board.close()
