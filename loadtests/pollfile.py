"""Locust: a hall answering one poll, against any running hub.

    locust -f loadtests/pollfile.py --headless -u 2000 -r 500 -t 1m \\
        --host http://127.0.0.1:8000 --api-key "$ROLLCALL_API_KEY"

Who comes:

- ``Voter`` (the many): an attendee's phone. It answers the open poll once (a tenth change
  their mind once), then only waits; a network error is retried (answering again is harmless:
  the attendee's one answer is replaced by the same one);
- ``PollDashboard`` (``--dashboards``, fixed count): a moderator screen holding
  ``/ws/sessions/{id}``; it reports *push lag* (from the acknowledgement of the vote that made
  a ``polls`` frame's total to that frame's arrival) as ``WS poll push lag``.

The test start creates a session, ``--attendees`` attendees and an open poll. At the stop it
checks the result: one answer per voter in ``GET /sessions/{id}/data``, the poll's total equal
to the voters acknowledged, and every dashboard on that tally; a difference is logged as a
failure (``poll check``). For the benchmark figure with its checks from nothing use
``python -m loadtests.pollrush``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
import uuid
from typing import Any

from locust import FastHttpUser, User, constant, events, task
from locust.env import Environment
from websockets.sync.client import connect

CHOICES = ["Sampling", "Fraud", "Controls", "Tax"]


class Shared:
    session = ""
    poll = ""
    prefix = ""
    api_key = ""
    attendees = 0
    next_voter = itertools.count()
    lock = threading.Lock()
    acks: list[float] = []  # monotonic times of first answers, in order
    totals: dict[int, dict[str, Any]] = {}  # dashboard -> last results


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--api-key", default="", help="API key (or ROLLCALL_API_KEY)")
    parser.add_argument("--attendees", type=int, default=2000)


def _api(env: Environment, method: str, path: str, body: Any = None) -> Any:
    import httpx

    assert env.host, "--host is required"
    r = httpx.request(method, env.host.rstrip("/") + path, json=body, timeout=120,
                      headers={"API-Key": Shared.api_key})
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
    return r.json().get("data")


@events.test_start.add_listener
def _setup(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    assert opts is not None
    Shared.api_key = opts.api_key or os.environ.get("ROLLCALL_API_KEY", "")
    Shared.attendees = opts.attendees
    Shared.prefix = f"P{uuid.uuid4().hex[:6]}"
    Shared.session = _api(environment, "POST", "/api/v2/sessions",
                          {"name": f"Poll rush (Locust {Shared.prefix})"})["id"]
    for start in range(0, opts.attendees, 2000):
        _api(environment, "POST", "/api/v2/attendees", [
            {"external_id": f"{Shared.prefix}-{i}", "first_name": f"Voter{i}",
             "last_name": "Locust"} for i in range(start, min(opts.attendees, start + 2000))])
    Shared.poll = _api(environment, "POST", f"/api/v2/sessions/{Shared.session}/polls",
                       {"name": "Which topic next?", "choices": CHOICES})["id"]
    _api(environment, "POST", f"/api/v2/sessions/{Shared.session}/polls/{Shared.poll}/open")


@events.test_stop.add_listener
def _check(environment: Environment, **_: Any) -> None:
    data = _api(environment, "GET", f"/api/v2/sessions/{Shared.session}/data")
    responses = data["polls"][Shared.poll]["responses"] or []
    voters = {r["external_id"] for r in responses}
    problems = []
    if len(voters) != len(responses):
        problems.append("an attendee has two answers")
    if len(responses) != len(Shared.acks):
        problems.append(f"{len(responses)} answers stored, {len(Shared.acks)} acknowledged")
    for n, results in Shared.totals.items():
        if results.get("total") != len(responses):
            problems.append(f"dashboard {n} shows {results.get('total')}")
    environment.events.request.fire(
        request_type="CHECK", name="poll check", response_time=0, response_length=0,
        exception=RuntimeError("; ".join(problems)) if problems else None, context={})


class Voter(FastHttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        self.i = next(Shared.next_voter)
        self.answers = 0 if self.i < Shared.attendees else 2  # more users than attendees: idle

    @task
    def vote(self) -> None:
        if self.answers >= (2 if self.i % 10 == 0 else 1):
            return
        choice = random.choice(CHOICES)
        path = f"/api/v2/sessions/{Shared.session}/polls/{Shared.poll}/responses"
        body = json.dumps({"response": choice, "external_id": f"{Shared.prefix}-{self.i}"})
        for attempt in range(3):
            with self.client.post(path, data=body, name="poll answer" if attempt == 0 else
                                  "poll answer (retry)", catch_response=True,
                                  headers={"API-Key": Shared.api_key,
                                           "Content-Type": "application/json"}) as r:
                if r.status_code == 0 or r.status_code >= 500:
                    r.failure(f"network or server error: {r.error or r.status_code}")
                    continue
                if r.status_code != 200:
                    r.failure(f"{r.status_code} {r.text[:200]}")
                    return
                if self.answers == 0:
                    with Shared.lock:
                        Shared.acks.append(time.monotonic())
                self.answers += 1
                r.success()
                return


class PollDashboard(User):
    fixed_count = 10
    wait_time = constant(3600)

    def on_start(self) -> None:
        self.n = len(Shared.totals)
        Shared.totals[self.n] = {}
        url = self.host.replace("http", "ws", 1).rstrip("/") + f"/ws/sessions/{Shared.session}"
        self.ws = connect(url, additional_headers={"API-Key": Shared.api_key}, max_size=None)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                if msg["type"] == "ping":
                    self.ws.send('{"type": "pong"}')
                if msg["type"] != "polls":
                    continue
                for p in msg["polls"]:
                    if p["id"] != Shared.poll:
                        continue
                    results = p.get("results") or {}
                    Shared.totals[self.n] = results
                    total = results.get("total", 0)
                    with Shared.lock:
                        acked = Shared.acks[total - 1] if 0 < total <= len(Shared.acks) else None
                    if acked is not None:
                        self.environment.events.request.fire(
                            request_type="WS", name="WS poll push lag",
                            response_time=(time.monotonic() - acked) * 1000,
                            response_length=len(raw), exception=None, context={})
        except Exception:  # noqa: BLE001 - the connection closed at the stop
            return

    def on_stop(self) -> None:
        self.ws.close()

    @task
    def idle(self) -> None:
        pass
