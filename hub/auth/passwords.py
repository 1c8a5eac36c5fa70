"""Staff passwords are hashed and checked with Argon2id on a small thread pool, never on the
event loop: a check takes tens to hundreds of milliseconds of CPU, and on the loop a burst of
wrong sign-ins would stall the door, /healthz and every WebSocket of the worker.

Guarantees:

- At most ``threads`` hashes or checks run at once (the CPU count, at most
  ``MAX_THREADS``: each one holds 64 MiB while it runs); the others wait their turn without
  holding the loop.
- Checking a password against no account (an unknown email, a disabled account) runs a real
  Argon2 check against a dummy hash made at start-up with the same parameters, so the answer
  takes as long as for a known account and does not tell which emails have one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from hub.auth.accounts import hash_password, verify_password

MAX_THREADS = 4


class Passwords:
    """The worker's Argon2 pool; built by the app's lifespan (``start``) and closed by it."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or max(1, min(os.cpu_count() or 1, MAX_THREADS))
        self._pool = ThreadPoolExecutor(max_workers=self.threads,
                                        thread_name_prefix="rollcall-passwords")
        self._dummy: str | None = None
        self.verifications = 0  # Argon2 checks finished, the dummy ones included

    async def start(self) -> None:
        """Make the dummy hash (off the loop, like every other hash)."""
        self._dummy = await self.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        """The Argon2id hash of ``password``."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``password_hash``. ``None`` (no usable account)
        runs the same check against the dummy hash and answers False."""
        if self._dummy is None:
            raise RuntimeError("Passwords.start() was not awaited")
        target = password_hash or self._dummy
        try:
            matched = await asyncio.get_running_loop().run_in_executor(
                self._pool, verify_password, target, password)
        finally:
            self.verifications += 1
        return matched and password_hash is not None

    async def close(self) -> None:
        """Drop the checks still waiting and let the running ones finish."""
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)
