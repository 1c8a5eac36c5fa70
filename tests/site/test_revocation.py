"""Staff and kiosk cookies can be taken back: signing out, unlocking a kiosk, a new password
and disabling end them at once, on every worker. Two app instances share one database (both
databases); a cookie is signed in on one and tried on the other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.cookies import CSRF_COOKIE, KIOSK_COOKIE, STAFF_COOKIE, Signer
from hub.config import Settings
from tests.conftest import SECRET

PW = "correct-horse-42"
NEW_PW = "battery-staple-99"


@dataclass
class Hubs:
    a: TestClient  # where browsers sign in and out
    b: TestClient  # another worker, where their cookies are tried
    key: str

    def seed(self, method: str, path: str, json: Any = None) -> Any:
        r = self.a.request(method, "/api/v2" + path, json=json, headers={"API-Key": self.key})
        assert r.status_code < 300, r.text
        return r.json()["data"]


@pytest.fixture
def hubs(settings: Settings, api_key: str) -> Iterator[Hubs]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as a, \
            TestClient(create_app(settings), raise_server_exceptions=False) as b:
        yield Hubs(a=a, b=b, key=api_key)


def csrf(c: TestClient) -> dict[str, str]:
    c.get("/")
    return {"X-CSRF-Token": c.cookies[CSRF_COOKIE]}


def sign_in(c: TestClient, email: str, password: str = PW) -> str:
    """Sign a fresh browser in on ``c``; returns its staff cookie."""
    c.cookies.clear()
    r = c.post("/auth/staff", json={"email": email, "password": password}, headers=csrf(c))
    assert r.status_code == 200, r.text
    return str(c.cookies[STAFF_COOKIE])


def open_kiosk(c: TestClient, email: str, session_id: str) -> str:
    """Lock a fresh browser on ``c`` to a session's kiosk; returns its kiosk cookie."""
    c.cookies.clear()
    r = c.post("/auth/kiosk", json={"email": email, "password": PW, "session_id": session_id},
               headers=csrf(c))
    assert r.status_code == 200, r.text
    return str(c.cookies[KIOSK_COOKIE])


def as_browser(c: TestClient, cookie: str, value: str) -> TestClient:
    """``c`` as a browser holding only ``cookie`` (and a CSRF token to echo)."""
    c.cookies.clear()
    c.cookies.set(cookie, value)
    c.cookies.set(CSRF_COOKIE, "csrf-token")
    c.headers["X-CSRF-Token"] = "csrf-token"
    return c


def staff_reads(c: TestClient, cookie: str) -> int:
    """What the staff cookie gets from an admin read."""
    return as_browser(c, STAFF_COOKIE, cookie).get("/api/v2/staff").status_code


def kiosk_checks_in(c: TestClient, cookie: str, session_id: str, external_id: str) -> int:
    r = as_browser(c, KIOSK_COOKIE, cookie).post(
        f"/api/v2/sessions/{session_id}/attendance/checkin",
        json={"external_id": external_id, "source": "kiosk"})
    return r.status_code


def me(c: TestClient, cookie: str, value: str) -> dict[str, Any]:
    return dict(as_browser(c, cookie, value).get("/auth/me").json()["data"])


def event(h: Hubs) -> tuple[int, str]:
    """A staff member with admin and scan, a session, and three registered attendees."""
    staff = h.seed("POST", "/staff", {"email": "lee@example.com", "password": PW,
                                      "permissions": ["admin", "scan"]})
    sid = h.seed("POST", "/sessions", {"name": "Room A"})["id"]
    h.seed("POST", "/attendees", [{"external_id": f"A{i}", "first_name": f"P{i}",
                                   "sessions": [sid]} for i in range(3)])
    return int(staff["id"]), sid


def test_signing_out_ends_that_cookie_on_every_worker(hubs: Hubs) -> None:
    event(hubs)
    laptop = sign_in(hubs.a, "lee@example.com")
    phone = sign_in(hubs.a, "lee@example.com")
    assert staff_reads(hubs.b, laptop) == 200 and staff_reads(hubs.b, phone) == 200
    as_browser(hubs.a, STAFF_COOKIE, laptop).post("/auth/logout")
    assert staff_reads(hubs.b, laptop) == 401
    assert me(hubs.b, STAFF_COOKIE, laptop)["staff"] is None
    # The same person's other sign-in goes on.
    assert staff_reads(hubs.b, phone) == 200


def test_a_new_password_ends_every_sign_in_and_the_kiosks_they_opened(hubs: Hubs) -> None:
    staff_id, sid = event(hubs)
    browser = sign_in(hubs.a, "lee@example.com")
    kiosk = open_kiosk(hubs.a, "lee@example.com", sid)
    assert staff_reads(hubs.b, browser) == 200
    assert kiosk_checks_in(hubs.b, kiosk, sid, "A0") == 200
    hubs.seed("PUT", f"/staff/{staff_id}", {"password": NEW_PW})
    assert staff_reads(hubs.b, browser) == 401
    assert kiosk_checks_in(hubs.b, kiosk, sid, "A1") == 401
    assert me(hubs.b, KIOSK_COOKIE, kiosk)["kiosk"] is None
    # The old password opens nothing; the new one does.
    hubs.a.cookies.clear()
    r = hubs.a.post("/auth/staff", json={"email": "lee@example.com", "password": PW},
                    headers=csrf(hubs.a))
    assert r.status_code == 401
    assert staff_reads(hubs.b, sign_in(hubs.a, "lee@example.com", NEW_PW)) == 200


def test_disabling_ends_every_sign_in_and_enabling_does_not_bring_them_back(
    hubs: Hubs
) -> None:
    staff_id, sid = event(hubs)
    browser = sign_in(hubs.a, "lee@example.com")
    kiosk = open_kiosk(hubs.a, "lee@example.com", sid)
    hubs.seed("PUT", f"/staff/{staff_id}", {"disabled": True})
    assert staff_reads(hubs.b, browser) == 401
    assert kiosk_checks_in(hubs.b, kiosk, sid, "A0") == 401
    hubs.seed("PUT", f"/staff/{staff_id}", {"disabled": False})
    assert staff_reads(hubs.b, browser) == 401
    assert kiosk_checks_in(hubs.b, kiosk, sid, "A0") == 401
    # A change of name or permissions is no reason to sign anyone out.
    fresh = sign_in(hubs.a, "lee@example.com")
    hubs.seed("PUT", f"/staff/{staff_id}", {"name": "Lee", "permissions": ["admin", "scan"]})
    assert staff_reads(hubs.b, fresh) == 200


def test_unlocking_a_kiosk_ends_its_cookie(hubs: Hubs) -> None:
    _, sid = event(hubs)
    kiosk = open_kiosk(hubs.a, "lee@example.com", sid)
    other = open_kiosk(hubs.a, "lee@example.com", sid)
    as_browser(hubs.a, KIOSK_COOKIE, kiosk)
    r = hubs.a.post("/auth/kiosk/exit", json={"password": PW})
    assert r.status_code == 200, r.text
    assert kiosk_checks_in(hubs.b, kiosk, sid, "A0") == 401
    # The tablet next to it stays open.
    assert kiosk_checks_in(hubs.b, other, sid, "A0") == 200


def test_a_cookie_that_names_no_live_sign_in_signs_nobody_in(hubs: Hubs) -> None:
    staff_id, sid = event(hubs)
    signer = Signer(SECRET)
    # Signed with the right key, but from before sign-ins were recorded, or made up.
    for payload in ({"sid": staff_id}, {"sid": staff_id, "lid": "made-up"}):
        assert staff_reads(hubs.b, signer.dumps(payload)) == 401
        kiosk = signer.dumps({**payload, "session": sid})
        assert kiosk_checks_in(hubs.b, kiosk, sid, "A0") == 401
    # A staff sign-in's id does not open a kiosk, nor the other way round.
    browser = signer.loads(sign_in(hubs.a, "lee@example.com"))
    kiosk_ = signer.loads(open_kiosk(hubs.a, "lee@example.com", sid))
    assert browser is not None and kiosk_ is not None
    assert kiosk_checks_in(hubs.b, signer.dumps({**browser, "session": sid}), sid, "A0") == 401
    assert staff_reads(hubs.b, signer.dumps({"sid": staff_id, "lid": kiosk_["lid"]})) == 401
