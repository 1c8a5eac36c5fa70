"""What the hostile-client suites share: a real hub on PostgreSQL with an API key, and the
check that its log holds no traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hub.auth.accounts import create_api_key
from hub.config import Settings
from tests.api.rows import in_db
from tests.livehub import LiveHub


@dataclass
class Target:
    hub: LiveHub
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"API-Key": self.key}


def assert_clean_log(hub: LiveHub) -> None:
    """No traceback and no logged error in the hub's whole log (not only its tail)."""
    text = hub.log_path.read_text(errors="replace")
    bad = [line for line in text.splitlines()
           if "Traceback" in line or re.search(r"\b(ERROR|CRITICAL)\b", line)]
    assert not bad, "the hub logged errors:\n" + "\n".join(bad[:20]) + "\n\n" + text[-4000:]


@pytest.fixture
def target(settings: Settings, hub_env: dict[str, str],
           live_hubs: Callable[..., LiveHub]) -> Target:
    """One hub process on this test's database, and an API key for it."""
    _, key = in_db(settings, lambda conn: create_api_key(conn, description="hostile"))
    return Target(hub=live_hubs(hub_env), key=key)
