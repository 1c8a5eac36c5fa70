"""The OpenAPI document the hub serves is valid OpenAPI 3.1, as integrators' client
generators read it (its schemas are JSON Schema 2020-12: ``{"type": "null"}`` in ``anyOf``)."""

from __future__ import annotations

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from starlette.testclient import TestClient


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_served_document_is_valid_openapi_3_1(client: TestClient) -> None:
    r = client.get("/api/v2/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    validate(doc, cls=OpenAPIV31SpecValidator)
    # The version-sniffing entry point agrees (it is what most tools call).
    validate(doc)
    assert doc["paths"]["/sessions/{session_id}/attendance/checkin"]["post"]["requestBody"]
