"""The door pages are installable: a manifest each, and the service worker at the root, which
caches every asset they load (all from the hub itself)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from hub.site.pages import WEB

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_manifests_and_the_service_worker(client: TestClient) -> None:
    scan = client.get("/staff/scan.webmanifest")
    assert scan.status_code == 200
    assert scan.headers["content-type"].startswith("application/manifest+json")
    assert scan.json()["start_url"] == "/staff/scan"
    kiosk = client.get("/kiosk/abc123/manifest.webmanifest").json()
    assert (kiosk["start_url"], kiosk["display"]) == ("/kiosk/abc123", "standalone")
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    assert '<link rel="manifest" href="/staff/scan.webmanifest">' in client.get(
        "/staff/scan").text
    # every asset the service worker caches is served, and every script of the door pages
    # (and what they import) is among them
    cached = re.findall(r'"(/[^"]*)"', sw.text.split("const ASSETS = [")[1].split("];")[0])
    for path in cached:
        assert client.get(path).status_code == 200, path
    imported = {"/static/js/scan.js", "/static/js/kiosk.js"}
    for name in ("scan.js", "kiosk.js", "offline.js", "common.js", "live.js", "qr.js"):
        imported |= {f"/static/js/{m}" for m in
                     re.findall(r'from "\./([a-z]+\.js)"', (WEB / "js" / name).read_text())}
    assert imported <= set(cached)
