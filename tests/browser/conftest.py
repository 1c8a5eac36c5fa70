"""Browser tests: Debian's headless Chromium (Playwright for Python) against a live hub.

Each test starts a real ``rollcall serve`` on a fresh SQLite database (the pages are the same
on PostgreSQL; the door and the real-time hub are tested on both elsewhere), seeds it through
the REST API with an API key, and drives the pages as people would.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.livehub import LiveHub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
PASSWORD = "correct-horse-42"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@dataclass
class Seeded:
    hub: LiveHub
    key: str

    def api(self, method: str, path: str, json: Any = None) -> Any:
        r = httpx.request(method, self.hub.url + "/api/v2" + path, json=json,
                          headers={"API-Key": self.key}, timeout=10)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json().get("data") if r.content else None

    def session(self, **fields: Any) -> str:
        return str(self.api("POST", "/sessions", fields)["id"])

    def staff(self, email: str, *permissions: str) -> tuple[str, str]:
        self.api("POST", "/staff", {"email": email, "password": PASSWORD,
                                    "permissions": list(permissions)})
        return email, PASSWORD

    def attendees(self, people: list[dict[str, Any]]) -> None:
        self.api("POST", "/attendees", people)


@pytest.fixture
def seeded(live_hubs: Callable[..., LiveHub], hub_env: dict[str, str], api_key: str) -> Seeded:
    return Seeded(hub=live_hubs(hub_env), key=api_key)


@pytest.fixture
def camera_feed() -> Path | None:
    """A .y4m video for Chromium's fake camera; None: no camera. Overridden where needed."""
    return None


@pytest.fixture
def browser(seeded: Seeded, camera_feed: Path | None) -> Iterator[Any]:
    """A fresh Chromium per test. Function-scoped on purpose: Playwright's sync API keeps an
    event loop running in this thread while it is started, and fixtures such as ``api_key``
    use asyncio.run(); so the hub is seeded first and the browser started after."""
    if not Path(CHROMIUM).exists():
        message = (f"NO CHROMIUM at {CHROMIUM}: browser tests cannot run "
                   "(apt-get install chromium; `python -m tests` installs it when root)")
        sys.stderr.write("\n" + "!" * 78 + f"\n!! {message}\n" + "!" * 78 + "\n")
        if os.environ.get("ROLLCALL_REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives the browser a fresh temporary profile; every test user gets a
        # fresh context (its own cookies) in it.
        args = list(CHROMIUM_ARGS)
        if camera_feed is not None:
            args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={camera_feed}"]
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(seeded: Seeded, browser: Any, artifacts: Path) -> Iterator[Callable[..., Any]]:
    """new_page(width=390) -> a page in its own browser context (its own cookies)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(width: int = 390, height: int = 844) -> Any:
        ctx = browser.new_context(base_url=seeded.hub.url,
                                  viewport={"width": width, "height": height},
                                  permissions=["camera"])
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"


def shoot(page: Any, artifacts: Path, name: str, *, readme: bool = False) -> None:
    """Save a screenshot as a test artefact; with ROLLCALL_UPDATE_SCREENSHOTS=1 also the
    README's copy in docs/screenshots/."""
    path = artifacts / f"browser-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if readme and os.environ.get("ROLLCALL_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / f"{name}.png")


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("form button[type=submit]")
