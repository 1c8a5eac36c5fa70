"""Presenters inline in session requests, de-duplicated as the reference says: by name when
no external_id is given, by external_id when it is (created if none), and updated (name,
external_id) when the internal id is given."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from hub.config import Settings
from storage.tables import T_PRESENTERS
from tests.api.rows import count
from tests.api.test_sessions import create, get, refused


def presenters(api: TestClient, sid: str) -> list[dict[str, Any]]:
    return get(api, sid)["presenters"] or []


def test_presenters_are_created_with_24_char_random_ids(api: TestClient) -> None:
    sid = create(api, name="S", presenters=[{"name": "Casey Example"},
                                            {"name": "Jo Doe", "external_id": "P-1"}])
    got = presenters(api, sid)
    assert [(p["name"], p["external_id"]) for p in got] == [("Casey Example", None),
                                                            ("Jo Doe", "P-1")]
    assert all(re.fullmatch(r"[a-z0-9]{24}", p["id"]) for p in got)
    assert got[0]["id"] != got[1]["id"]


def test_same_name_without_external_id_is_the_same_presenter(
    api: TestClient, settings: Settings
) -> None:
    a = create(api, name="A", presenters=[{"name": "John Johnson, M.D."}])
    b = create(api, name="B", presenters=[{"name": "John Johnson, M.D."}])
    assert presenters(api, a)[0]["id"] == presenters(api, b)[0]["id"]
    assert count(settings, T_PRESENTERS) == 1


def test_same_external_id_is_the_same_presenter_and_a_new_one_is_created(
    api: TestClient, settings: Settings
) -> None:
    a = create(api, name="A", presenters=[{"name": "Jo Doe", "external_id": "P-1"}])
    b = create(api, name="B", presenters=[{"name": "Joanne Doe", "external_id": "P-1"}])
    c = create(api, name="C", presenters=[{"name": "Jo Doe", "external_id": "P-2"}])
    pa, pb, pc = presenters(api, a)[0], presenters(api, b)[0], presenters(api, c)[0]
    assert pa["id"] == pb["id"]
    assert pc["id"] != pa["id"] and pc["external_id"] == "P-2"
    assert count(settings, T_PRESENTERS) == 2


def test_external_id_alone_finds_an_existing_presenter(api: TestClient) -> None:
    a = create(api, name="A", presenters=[{"name": "Jo Doe", "external_id": "P-1"}])
    b = create(api, name="B", presenters=[{"external_id": "P-1"}])
    assert presenters(api, b) == presenters(api, a)


def test_new_external_id_without_a_name_is_422(api: TestClient, settings: Settings) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "A",
                                               "presenters": [{"external_id": "P-9"}]}),
            "presenters[0].name")
    assert count(settings, T_PRESENTERS) == 0


def test_internal_id_updates_name_and_external_id_everywhere(api: TestClient) -> None:
    a = create(api, name="A", presenters=[{"name": "Jo Doe"}])
    b = create(api, name="B", presenters=[{"name": "Jo Doe"}])
    pid = presenters(api, a)[0]["id"]
    r = api.put(f"/api/v2/sessions/{a}", json={
        "presenters": [{"id": pid, "name": "Dr. Jo Doe", "external_id": "P-7"}]})
    assert r.status_code == 200, r.text
    expected = [{"id": pid, "name": "Dr. Jo Doe", "external_id": "P-7"}]
    assert presenters(api, a) == expected
    assert presenters(api, b) == expected  # one presenter, shown on both sessions


def test_internal_id_with_blank_external_id_unsets_it(api: TestClient) -> None:
    a = create(api, name="A", presenters=[{"name": "Jo", "external_id": "P-1"}])
    pid = presenters(api, a)[0]["id"]
    api.put(f"/api/v2/sessions/{a}", json={"presenters": [{"id": pid, "external_id": ""}]})
    assert presenters(api, a) == [{"id": pid, "name": "Jo", "external_id": None}]


def test_internal_id_cannot_take_another_presenters_external_id(api: TestClient) -> None:
    a = create(api, name="A", presenters=[{"name": "Jo", "external_id": "P-1"},
                                          {"name": "Kim", "external_id": "P-2"}])
    kim = presenters(api, a)[1]["id"]
    refused(api.put(f"/api/v2/sessions/{a}",
                    json={"presenters": [{"id": kim, "external_id": "P-1"}]}),
            "presenters[0].external_id")
    assert len(presenters(api, a)) == 2


def test_unknown_internal_id_is_422(api: TestClient) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "A", "presenters": [{"id": "zzz"}]}),
            "presenters[0].id")


def test_empty_presenter_is_422(api: TestClient) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "A", "presenters": [{}]}),
            "presenters[0]")
    refused(api.post("/api/v2/sessions", json={"name": "A", "presenters": [{"name": " "}]}),
            "presenters[0]")


def test_order_is_kept_and_repeats_are_dropped(api: TestClient, settings: Settings) -> None:
    sid = create(api, name="S", presenters=[{"name": "Zed"}, {"name": "Amy"}, {"name": "Zed"}])
    assert [p["name"] for p in presenters(api, sid)] == ["Zed", "Amy"]
    assert count(settings, T_PRESENTERS) == 2


def test_put_replaces_the_list_omitted_keeps_it_empty_or_blank_clears(api: TestClient) -> None:
    sid = create(api, name="S", presenters=[{"name": "Ann"}, {"name": "Bob"}])
    api.put(f"/api/v2/sessions/{sid}", json={"location": "Room 9"})
    assert [p["name"] for p in presenters(api, sid)] == ["Ann", "Bob"]
    api.put(f"/api/v2/sessions/{sid}", json={"presenters": None})
    assert [p["name"] for p in presenters(api, sid)] == ["Ann", "Bob"]
    api.put(f"/api/v2/sessions/{sid}", json={"presenters": [{"name": "Bob"}, {"name": "Cy"}]})
    assert [p["name"] for p in presenters(api, sid)] == ["Bob", "Cy"]
    api.put(f"/api/v2/sessions/{sid}", json={"presenters": []})
    assert get(api, sid)["presenters"] is None
    api.put(f"/api/v2/sessions/{sid}", json={"presenters": [{"name": "Ann"}]})
    api.put(f"/api/v2/sessions/{sid}", json={"presenters": ""})
    assert get(api, sid)["presenters"] is None


def test_deleting_a_session_keeps_its_presenters_for_others(api: TestClient) -> None:
    a = create(api, name="A", presenters=[{"name": "Ann"}])
    pid = presenters(api, a)[0]["id"]
    api.delete(f"/api/v2/sessions/{a}")
    b = create(api, name="B", presenters=[{"name": "Ann"}])
    assert presenters(api, b)[0]["id"] == pid
