"""A lost database connection (PostgreSQL restarting, a network cut) is the operator's
concern, not the client's: each request it fails is answered 503 ``unavailable`` with
``Retry-After`` (the client tries again; nothing was committed), and the log gets one warning
per outage, not a traceback per request: at most one every ``LOG_EVERY_S`` while it lasts,
saying how many requests it failed since the last one.
"""

from __future__ import annotations

import logging
import time

from hub.errors import ServiceUnavailable
from storage.engine import connection_lost

log = logging.getLogger("rollcall.database")

RETRY_AFTER_S = 2
LOG_EVERY_S = 30.0

__all__ = ["DatabaseUnavailable", "Outage", "connection_lost"]


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached: 503 ``unavailable`` with ``Retry-After``."""

    def __init__(self) -> None:
        super().__init__("The database cannot be reached; try again in a moment.")
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


class Outage:
    """Turns lost connections into ``DatabaseUnavailable`` and logs them sparingly (one hub
    process, shared by its HTTP handlers and its door)."""

    def __init__(self, log_every_s: float = LOG_EVERY_S) -> None:
        self.log_every_s = log_every_s
        self._next_log = 0.0
        self._failed = 0

    def unavailable(self, exc: BaseException, *, requests: int = 1) -> DatabaseUnavailable:
        """``exc`` (a lost connection) failed ``requests`` requests: the error to answer them
        with. Logs a warning (no traceback) unless one was logged in the last
        ``log_every_s``."""
        self._failed += requests
        t = time.monotonic()
        if t >= self._next_log:
            log.warning("the database cannot be reached (%s); %d request(s) answered 503 "
                        "since the last warning", _describe(exc), self._failed)
            self._failed = 0
            self._next_log = t + self.log_every_s
        return DatabaseUnavailable()


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__
