"""Errors across the whole API: always the envelope with the right status, never a traceback,
and a refused request writes nothing. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.auth.accounts import create_api_key
from hub.config import Settings
from hub.errors import REASONS
from storage.tables import T_PRESENTERS, T_SESSIONS
from tests.api.rows import count, in_db
from tests.livehub import ROOT

JSON = {"content-type": "application/json"}


def envelope(r: Any, status: int) -> dict[str, Any]:
    """The error envelope with ``status``; never a traceback."""
    assert r.status_code == status, (r.status_code, r.text)
    assert "Traceback" not in r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "error" and body["code"] == str(status)
    assert isinstance(body["message"], str) and body["message"]
    return body


def guarded_operations(client: TestClient) -> Iterator[tuple[str, str]]:
    """(method, concrete path) for every operation the OpenAPI document says may answer 401
    (all but the public ones, such as /reasons)."""
    doc = client.get("/api/v2/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "401" in op["responses"]:
                yield method.upper(), "/api/v2" + re.sub(r"\{[^}]+\}", "nosuch", path)


# --- 401 --------------------------------------------------------------------------------


def test_every_operation_wants_an_api_key(client: TestClient) -> None:
    ops = list(guarded_operations(client))
    assert len(ops) >= 7
    for method, path in ops:
        envelope(client.request(method, path, json={}), 401)
        envelope(client.request(method, path, json={}, headers={"API-Key": "rc_wrong"}), 401)


def test_disabled_key_is_refused_at_once(
    client: TestClient, settings: Settings, hub_env: dict[str, str]
) -> None:
    key_id, key = in_db(settings, lambda conn: create_api_key(conn, description="to disable"))
    headers = {"API-Key": key}
    assert client.get("/api/v2/sessions", headers=headers).status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "apikey", "disable", str(key_id)],
        cwd=ROOT, env={**os.environ, **hub_env}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    body = envelope(client.get("/api/v2/sessions", headers=headers), 401)
    assert "disabled" in body["message"]
    envelope(client.post("/api/v2/sessions", headers=headers, json={"name": "X"}), 401)
    assert count(settings, T_SESSIONS) == 0


def test_other_keys_keep_working_when_one_is_disabled(
    api: TestClient, settings: Settings, hub_env: dict[str, str]
) -> None:
    key_id, _ = in_db(settings, lambda conn: create_api_key(conn, description="other"))
    subprocess.run([sys.executable, "-m", "hub.cli", "apikey", "disable", str(key_id)],
                   cwd=ROOT, env={**os.environ, **hub_env}, check=True, capture_output=True,
                   timeout=60)
    assert api.get("/api/v2/sessions").status_code == 200


# --- 404 / 405 --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v2/nothing", "/api/v2/sessions/abc/nothing",
                                  "/api/v2/evaluations", "/api/v2/sessions/a/b/c/d"])
def test_unknown_route_is_404_envelope(api: TestClient, path: str) -> None:
    envelope(api.get(path), 404)


@pytest.mark.parametrize("sid", ["nosuch", "x" * 200, "%FF%FE", "a%20b", "..%2F.."])
def test_unknown_session_is_404_envelope(api: TestClient, sid: str) -> None:
    envelope(api.get(f"/api/v2/sessions/{sid}"), 404)
    envelope(api.put(f"/api/v2/sessions/{sid}", json={"name": "X"}), 404)
    envelope(api.delete(f"/api/v2/sessions/{sid}"), 404)
    envelope(api.get(f"/api/v2/sessions/{sid}/data"), 404)


def test_nul_in_a_session_id_is_a_400_envelope_not_a_server_error(api: TestClient) -> None:
    for r in (api.get("/api/v2/sessions/a%00b"), api.put("/api/v2/sessions/%00", json={}),
              api.delete("/api/v2/sessions/%00"), api.get("/api/v2/sessions/%00/data")):
        assert "NUL" in envelope(r, 400)["message"]


@pytest.mark.parametrize(("method", "path"), [
    ("PATCH", "/api/v2/sessions"),
    ("DELETE", "/api/v2/sessions"),
    ("POST", "/api/v2/sessions/abc"),
    ("PATCH", "/api/v2/sessions/abc"),
    ("POST", "/api/v2/sessions/abc/data"),
    ("POST", "/api/v2/evaluations/responses"),
    ("DELETE", "/api/v2/app"),
])
def test_wrong_method_is_405_envelope(api: TestClient, method: str, path: str) -> None:
    r = api.request(method, path, json={})
    envelope(r, 405)
    assert r.headers.get("allow")


# --- 400 / 413 / 415 --------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"{not json", b'{"name": "X"', b'{"name": "X"} trailing', b"", b"   ",
    b'{"name": "\\ud800"}', b'{"name": "\\udc00"}',
    b'{"name": "caf\xe9"}', b'{"name": "\xed\xa0\x80"}', b"\xff\xfe{}",
    b'{"name": "X", "fields_of_study": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    b'{"name": "X\\u0000", "fields_of_study": ' + b"[" * 100000 + b"]" * 100000 + b"}",
])
def test_malformed_body_is_400(api: TestClient, settings: Settings, raw: bytes) -> None:
    envelope(api.post("/api/v2/sessions", content=raw, headers=JSON), 400)
    sid_body = api.post("/api/v2/sessions", json={"name": "Before"}).json()
    envelope(api.put(f"/api/v2/sessions/{sid_body['data']['id']}", content=raw, headers=JSON),
             400)
    envelope(api.put("/api/v2/app", content=raw, headers=JSON), 400)
    assert count(settings, T_SESSIONS) == 1


def test_body_over_one_mib_is_413(api: TestClient, settings: Settings) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    envelope(api.post("/api/v2/sessions", content=big, headers=JSON), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size is what counts
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    envelope(api.post("/api/v2/sessions", content=chunks(), headers=JSON), 413)
    assert count(settings, T_SESSIONS) == 0


def test_body_just_under_one_mib_is_accepted(api: TestClient) -> None:
    description = "d" * 99_000
    objectives = ["o" * 900] * 100
    r = api.post("/api/v2/sessions", json={"name": "Big", "description": description,
                                          "learning_objectives": objectives})
    assert r.status_code == 201, r.text


def test_non_json_content_type_is_415(api: TestClient) -> None:
    envelope(api.post("/api/v2/sessions", content=b"name=X",
                      headers={"content-type": "application/x-www-form-urlencoded"}), 415)


# --- 422 --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"[]", b'[{"name": "X"}]', b'"X"', b"5", b"null", b"true",
                                 b"[" * 100000 + b"]" * 100000])
def test_body_that_is_not_an_object_is_422(api: TestClient, raw: bytes) -> None:
    body = envelope(api.post("/api/v2/sessions", content=raw, headers=JSON), 422)
    assert "body" in body["message"] or "object" in body["message"]
    envelope(api.put("/api/v2/app", content=raw, headers=JSON), 422)


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"name": "X", "capacity": 1e400}', "capacity"),
    (b'{"name": "X", "capacity": 99999999999999999999999999999}', "capacity"),
    (b'{"name": "X", "rank": -99999999999999999999999999999}', "rank"),
    (b'{"name": "X", "ce_minutes": 1e308}', "ce_minutes"),
    (b'{"name": "X", "checkin_required": 1e999}', "checkin_required"),
])
def test_huge_numbers_are_422_naming_the_field(api: TestClient, raw: bytes, field: str) -> None:
    body = envelope(api.post("/api/v2/sessions", content=raw, headers=JSON), 422)
    assert field in body["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "a\u0000b"}, "name"),
    ({"name": "X", "location": "\u0000"}, "location"),
    ({"name": "X", "learning_objectives": ["ok", "b\u0000d"]}, "learning_objectives[1]"),
    ({"name": "X", "presenters": [{"name": "Jo\u0000"}]}, "presenters[0].name"),
    ({"name": "X", "fields_of_study": [{"name": "E\u0000", "credits": "1"}]},
     "fields_of_study[0].name"),
    ({"name": "X", "fields_of_study": [{"name": "E", "credits": "1",
                                        "codewords": ["\u0000"]}]},
     "fields_of_study[0].codewords[0]"),
    ({"name": "X", "unknown\u0000key": 1}, "body"),
])
def test_nul_characters_are_422_naming_the_field(
    api: TestClient, settings: Settings, body: dict[str, Any], field: str
) -> None:
    """PostgreSQL cannot store NUL in text; refuse it everywhere, before any write."""
    got = envelope(api.post("/api/v2/sessions", json=body), 422)
    assert got["message"].startswith(field), got
    assert count(settings, T_SESSIONS) == 0 and count(settings, T_PRESENTERS) == 0
    envelope(api.put("/api/v2/app", json={"name": "Ev\u0000ent"}), 422)


def test_escaped_backslash_u0000_text_is_not_a_nul(api: TestClient) -> None:
    r = api.post("/api/v2/sessions", content=b'{"name": "a\\\\u0000b"}', headers=JSON)
    assert r.status_code == 201, r.text
    sid = r.json()["data"]["id"]
    assert api.get(f"/api/v2/sessions/{sid}").json()["data"]["name"] == "a\\u0000b"


def test_unicode_text_is_stored_faithfully(api: TestClient) -> None:
    name = "Ümlaut – 日本語 😀 \u200b"
    r = api.post("/api/v2/sessions", json={"name": name, "presenters": [{"name": name}]})
    sid = r.json()["data"]["id"]
    data = api.get(f"/api/v2/sessions/{sid}").json()["data"]
    assert data["name"] == name and data["presenters"][0]["name"] == name


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x" * 1001}, "name"),
    ({"name": "X", "description": "d" * 100_001}, "description"),
    ({"name": "X", "presenters": [{"name": "p" * 1001}]}, "presenters[0].name"),
    ({"name": "X", "presenters": [{"id": "i" * 65}]}, "presenters[0].id"),
    ({"name": "X", "presenters": [{"name": f"P{i}"} for i in range(101)]}, "presenters"),
    ({"name": "X", "learning_objectives": ["o"] * 101}, "learning_objectives"),
    ({"name": "X", "date": "2019-01-24" * 20}, "date"),
    ({"name": "X", "credit_url": "https://e.com/" + "a" * 2000}, "credit_url"),
])
def test_over_long_values_are_422(api: TestClient, settings: Settings, body: dict[str, Any],
                                  field: str) -> None:
    got = envelope(api.post("/api/v2/sessions", json=body), 422)
    assert got["message"].startswith(field), got
    assert count(settings, T_SESSIONS) == 0


def test_reasons_lists_every_reason_the_hub_gives_with_its_words(api: TestClient) -> None:
    r = api.get("/api/v2/reasons", headers={"API-Key": ""})
    assert r.status_code == 200
    data = r.json()["data"]
    assert set(data) == set(REASONS)
    assert data["capacity_full"] == {"message": "This session is full.", "overridable": True,
                                     "kind": "refusal", "status": 409}
    assert data["overloaded"]["status"] == 503 and data["internal"]["status"] == 500
    assert data["too_many_attempts"]["close"] == 4429
    assert data["broker_unavailable"]["kind"] == "live"
