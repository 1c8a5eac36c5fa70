"""schemathesis against /api/v2/openapi.json on a live hub: no request may answer 5xx, and every
answer must match the document (status codes, content types, response schemas), and the hub
must log no traceback and no error.

Every registered operation is exercised, with schema-valid and schema-breaking data, a bounded
number of examples each (derandomized, so a run is repeatable). Operations with a
``session_id`` also get the id of a real session half of the time, so they are tested past
their 404.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.auth.accounts import create_api_key
from hub.config import Settings
from tests.api.rows import in_db
from tests.livehub import LiveHub, assert_clean_log

# Per operation and generation mode. ROLLCALL_SCHEMATHESIS_EXAMPLES=500 runs a deeper,
# randomised search (the default run is derandomized, so it repeats exactly).
DEEP = os.environ.get("ROLLCALL_SCHEMATHESIS_EXAMPLES")
EXAMPLES = int(DEEP) if DEEP else 10
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@dataclass
class Seed:
    """A real session for the generated requests to hit; replaced when one deletes it."""

    hub: LiveHub
    headers: dict[str, str]
    session_id: str = ""
    failures: list[str] = field(default_factory=list)
    unbreakable: list[str] = field(default_factory=list)

    def renew(self) -> None:
        r = httpx.post(f"{self.hub.url}/api/v2/sessions", headers=self.headers, timeout=10,
                       json={"name": "Seed", "date": "2026-01-12", "start_time": "9am",
                             "capacity": 50, "presenters": [{"name": "Casey Example"}],
                             "fields_of_study": [{"name": "Ethics", "credits": "1",
                                                  "codewords": ["ledger"]}]})
        assert r.status_code == 201, r.text
        self.session_id = r.json()["data"]["id"]


def exercise(operation: Any, mode: GenerationMode, seed: Seed) -> None:
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    base_url = f"{seed.hub.url}/api/v2"

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not DEEP,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case: Any, real: bool) -> None:
        if real and case.path_parameters and "session_id" in case.path_parameters:
            case.path_parameters["session_id"] = seed.session_id
        try:
            response = case.call_and_validate(base_url=base_url, headers=seed.headers,
                                              checks=checks, timeout=30)
        except (AssertionError, FailureGroup) as exc:  # collect: report every operation at once
            label = f"{operation.label} [{mode.value}]"
            if not any(f.startswith(label) for f in seed.failures):
                seed.failures.append(f"{label}: {exc}"[:3000])
            return
        if case.method.upper() == "DELETE" and response.status_code < 300 and (
            case.path_parameters or {}
        ).get("session_id") == seed.session_id:
            seed.renew()

    try:
        run()
    except Unsatisfiable:
        # Negative mode has nothing to break in an operation whose every input accepts any
        # value (no parameters, no body); positive mode always has at least one example.
        if mode is GenerationMode.POSITIVE:
            raise
        seed.unbreakable.append(operation.label)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    settings: Settings, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub],
) -> None:
    _, key = in_db(settings, lambda conn: create_api_key(conn, description="schemathesis"))
    hub = live_hubs(hub_env, deadline_s=90)
    seed = Seed(hub=hub, headers={"API-Key": key})
    seed.renew()
    schema = schemathesis.openapi.from_url(f"{hub.url}/api/v2/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())  # an unreadable operation fails the test here
    assert len(operations) >= 7
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode, seed)
    assert not seed.failures, "\n\n".join(seed.failures)
    # Only operations without any input may lack negative examples.
    print("operations without negative examples:", seed.unbreakable)
    assert len(seed.unbreakable) < len(operations) // 2, seed.unbreakable
    assert_clean_log(hub)
