"""Who the client is: the peer, unless the peer is a trusted proxy (ROLLCALL_TRUSTED_PROXIES);
then the right-most X-Forwarded-For hop that is not a trusted proxy. The live-hub tests in
tests/site/test_login_limits.py show the limits following it; these pin the rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub.cli import SERVER_SETTINGS
from hub.config import ConfigError, load_settings, parse_trusted_proxies
from hub.http import ClientAddress


def settle(peer: str, trusted: str, headers: dict[str, str] | None = None,
           kind: str = "http") -> tuple[str, str]:
    """(client address, scheme) as the hub sees them."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {"type": kind, "client": (peer, 5000), "scheme": "http" if kind == "http" else "ws",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    asyncio.run(ClientAddress(app, parse_trusted_proxies(trusted))(scope, None, None))
    return seen["client"][0], seen["scheme"]


XFF = "X-Forwarded-For"


def test_no_trusted_proxy_means_the_peer_whatever_the_headers() -> None:
    assert load_settings({}).trusted_proxies == ()
    assert settle("198.51.100.9", "", {XFF: "1.2.3.4", "X-Forwarded-Proto": "https"}) == (
        "198.51.100.9", "http")


def test_an_untrusted_peer_is_the_client_even_when_others_are_trusted() -> None:
    assert settle("198.51.100.9", "10.0.0.0/8", {XFF: "10.0.0.1"}) == ("198.51.100.9", "http")


@pytest.mark.parametrize(("xff", "client"), [
    ("203.0.113.7", "203.0.113.7"),
    ("1.1.1.1, 203.0.113.7", "203.0.113.7"),  # the client's own hop is to the left
    ("1.1.1.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # a second proxy of ours
    ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all ours: the left-most
    ("not-an-address, 10.0.0.2", "10.0.0.2"),  # a broken hop ends the walk
    ("203.0.113.7, garbage", "10.0.0.1"),
    ("2001:db8::1", "2001:db8::1"),
])
def test_a_trusted_proxy_names_the_client(xff: str, client: str) -> None:
    assert settle("10.0.0.1", "10.0.0.0/8", {XFF: xff})[0] == client


def test_a_trusted_proxy_without_the_header_is_the_client() -> None:
    assert settle("10.0.0.1", "10.0.0.1") == ("10.0.0.1", "http")


def test_the_scheme_follows_a_trusted_proxy() -> None:
    assert settle("10.0.0.1", "10.0.0.1", {"X-Forwarded-Proto": "https"})[1] == "https"
    assert settle("10.0.0.1", "10.0.0.1", {"X-Forwarded-Proto": "https"}, "websocket")[1] == (
        "wss")
    assert settle("10.0.0.1", "10.0.0.1", {"X-Forwarded-Proto": "gopher"})[1] == "http"


def test_the_setting_takes_addresses_and_networks() -> None:
    s = load_settings({"ROLLCALL_TRUSTED_PROXIES": "172.28.0.10, 10.0.0.0/8 ::1"})
    assert [str(n) for n in s.trusted_proxies] == ["172.28.0.10/32", "10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("raw", ["*", "nginx", "10.0.0.0/33", "300.1.1.1"])
def test_a_bad_trusted_proxy_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="ROLLCALL_TRUSTED_PROXIES"):
        load_settings({"ROLLCALL_TRUSTED_PROXIES": raw})


def test_compose_trusts_only_its_load_balancer() -> None:
    """docker-compose.yml: the hubs believe X-Forwarded-For from nginx's fixed address only,
    and uvicorn's own forwarded-header trust is not switched on."""
    yaml = pytest.importorskip("yaml")
    root = Path(__file__).resolve().parent.parent
    text = (root / "docker-compose.yml").read_text()
    assert "FORWARDED_ALLOW_IPS" not in text
    spec = yaml.safe_load(text)
    lb = spec["services"]["lb"]["networks"]["default"]["ipv4_address"]
    for hub in ("hub1", "hub2"):
        env = spec["services"][hub]["environment"]
        assert env["ROLLCALL_TRUSTED_PROXIES"] == lb
    assert [str(n) for n in parse_trusted_proxies(lb.split(":-")[-1].rstrip("}"))] == [
        "172.28.80.10/32"]
    assert SERVER_SETTINGS["proxy_headers"] is False
