"""The lean Python door generator: the fallback when wrk is not installed.

Same contract as ``loadtests/doors.lua`` (same environment variables, same output lines), so
the benchmark reads either. One asyncio protocol per door, one keep-alive HTTP/1.1
connection each, requests pre-formatted as bytes and answers parsed just enough (status,
Content-Length, a few fields found by regular expression). On uvloop one core drives a few
thousand requests per second, below what the hub can take: prefer wrk for the throughput
figure.

    RC_PATH=... RC_API_KEY=... RC_RUN=... RC_N=... RC_DOORS=... RC_OUT=... \\
        python -m loadtests.pydoors http://127.0.0.1:8000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from typing import cast
from urllib.parse import urlsplit

RE_SEQ = re.compile(rb'"seq":(\d+)')
RE_IN_ROOM = re.compile(rb'"in_room":(\d+)')
RE_REASON = re.compile(rb'"reason":"([\w]+)"')
RE_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Config:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = os.environ.get("RC_PATH", "/api/v2/sessions/x/attendance/checkin")
        self.api_key = os.environ.get("RC_API_KEY", "")
        self.run = os.environ.get("RC_RUN", "run")
        self.keys = os.environ.get("RC_KEYS", self.run)
        self.n = int(os.environ.get("RC_N", "1000"))
        self.doors = int(os.environ.get("RC_DOORS", "1"))
        self.out_path = os.environ.get("RC_OUT", "doors.out")

    def request(self, idx: int) -> bytes:
        body = (
            f'{{"badge_id":"{self.run}-B{idx:07d}","idempotency_key":"{self.keys}-K{idx:07d}",'
            f'"source":"scan"}}'
        ).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nAPI-Key: {self.api_key}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        return head + body

    def expect(self, idx: int) -> bytes:
        return f'"{self.run}-E{idx:07d}"'.encode()


class Door(asyncio.Protocol):
    """One scanner: sends its badge, waits for the answer, moves on; resends on a broken line."""

    def __init__(self, cfg: Config, tid: int, out: list[str], stop_at: float,
                 finished: asyncio.Future[None]) -> None:
        self.cfg = cfg
        self.tid = tid
        self.cur = tid
        self.attempts = 0
        self.out = out
        self.stop_at = stop_at
        self.finished = finished
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.req: bytes | None = None
        self.t_sent = 0.0
        self.errors = 0

    # asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buf.clear()
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.finished.done():
            self.errors += 1
            asyncio.get_running_loop().create_task(self.reconnect())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[: end + 4])
            m = RE_LENGTH.search(head)
            length = int(m.group(1)) if m else 0
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            self.answered(int(head[9:12]), body)

    # door logic ------------------------------------------------------------------------
    def send(self) -> None:
        if self.transport is None:
            return
        if self.cur >= self.cfg.n or time.monotonic() >= self.stop_at:
            if not self.finished.done():
                self.finished.set_result(None)
            return
        if self.req is None:
            self.req = self.cfg.request(self.cur)
            self.t_sent = time.monotonic()
            self.attempts = 0
        self.attempts += 1
        self.transport.write(self.req)

    def answered(self, status: int, body: bytes) -> None:
        t1 = time.monotonic()
        seq = RE_SEQ.search(body)
        in_room = RE_IN_ROOM.search(body)
        reason = RE_REASON.search(body)
        match = 1 if self.cfg.expect(self.cur) in body else 0
        self.out.append(
            f"{self.cur} {status} {seq.group(1).decode() if seq else '-'} "
            f"{in_room.group(1).decode() if in_room else '-'} {self.t_sent:.6f} {t1:.6f} "
            f"{reason.group(1).decode() if reason else '-'} {match} {self.attempts}"
        )
        self.cur += self.cfg.doors
        self.req = None
        self.send()

    async def reconnect(self) -> None:
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self, self.cfg.host, self.cfg.port)
        except OSError:
            self.errors += 1
            if not self.finished.done():
                loop.create_task(self.reconnect())


async def rush(cfg: Config, duration: float) -> tuple[list[str], list[Door], float]:
    loop = asyncio.get_running_loop()
    out: list[str] = []
    start = time.monotonic()
    doors: list[Door] = []
    for tid in range(cfg.doors):
        door = Door(cfg, tid, out, start + duration, loop.create_future())
        doors.append(door)
        await loop.create_connection(lambda d=door: d, cfg.host, cfg.port)  # type: ignore[misc]
    await asyncio.wait([d.finished for d in doors], timeout=duration + 30)
    elapsed = time.monotonic() - start
    for d in doors:
        if d.transport is not None:
            d.transport.close()
    return out, doors, elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("url")
    p.add_argument("--duration", type=float, default=10.0)
    args = p.parse_args()
    cfg = Config(args.url)
    import uvloop

    out, doors, elapsed = uvloop.run(rush(cfg, args.duration))
    errors = sum(d.errors for d in doors)
    with open(cfg.out_path, "w") as f:
        for line in out:
            f.write(line + "\n")
        for d in doors:
            # A door that stopped on time has no request in flight: report its next badge with
            # 0 attempts; one cut off mid-request reports the badge it was waiting on.
            f.write(f"door {d.tid} {d.cur} {d.attempts if d.req is not None else 0}\n")
        f.write(f"wrk {int(elapsed * 1e6)} {len(out)} 0 {errors} 0 0 0\n")


if __name__ == "__main__":
    main()
