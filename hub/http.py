"""Reading requests: who the client is behind trusted proxies, bodies with a size cap, JSON
decoding, and errors that name the field."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.config import IPNetwork
from hub.errors import Invalid, MalformedJSON, PayloadTooLarge, UnsupportedMediaType

MAX_BODY = 1024 * 1024  # 1 MiB

T = TypeVar("T")


def ascii_whole(raw: str, *, max_digits: int = 18) -> int | None:
    """``raw`` as a whole number of 0 or more when it is 1 to ``max_digits`` ASCII digits and
    nothing else (no sign, space or underscore); else None. ``str.isdigit`` alone will not
    do: it accepts "²" (which ``int`` refuses) and "٣" (which ``int`` reads as 3)."""
    if 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit():
        return int(raw)
    return None

_PATH = re.compile(r" - at `\$(.*)`$")
_MISSING = re.compile(r"^Object missing required field `(.*)`$")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes (declared or streamed)."""
    declared = ascii_whole(request.headers.get("content-length") or "", max_digits=30)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"The request body is over {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def field_of(err: msgspec.ValidationError) -> tuple[str, str]:
    """Split msgspec's message into (field path, problem)."""
    text = str(err)
    m = _PATH.search(text)
    if not m:
        return "body", text
    path = m.group(1).lstrip(".")
    problem = text[: m.start()]
    missing = _MISSING.match(problem)
    if missing:  # name the missing field itself, not the object around it
        name = missing.group(1)
        return (f"{path}.{name}" if path else name), "is required"
    return path or "body", problem


def nul_path(value: Any) -> str | None:
    """The path of the first string (or key) holding a NUL character, else None.

    PostgreSQL cannot store NUL in text, so every body is refused with it on every database
    (iterative: a deeply nested body must not exhaust the stack).
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if "\x00" in key:
                    return path or "body"
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            for i in range(len(item) - 1, -1, -1):
                stack.append((f"{path}[{i}]", item[i]))
    return None


def decode(body: bytes, type_: type[T]) -> T:
    if not body.strip():
        raise MalformedJSON("The request body is empty; send JSON.")
    try:
        value = msgspec.json.decode(body, type=type_)
        if b"\\u0000" in body:
            path = nul_path(msgspec.json.decode(body))
            if path is not None:
                raise Invalid(path, "contains a NUL character (\\u0000), which is not allowed")
        return value
    except msgspec.ValidationError as exc:
        field, problem = field_of(exc)
        raise Invalid(field, problem) from None
    except msgspec.DecodeError as exc:
        raise MalformedJSON(f"Malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise MalformedJSON("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise MalformedJSON("The JSON is nested too deeply.") from None


async def read_json(request: Request, type_: type[T]) -> T:
    """Decode the body as ``type_``: 413 too large, 400 malformed, 422 wrong field."""
    ctype = request.headers.get("content-type", "")
    if ctype and "json" not in ctype.lower():
        raise UnsupportedMediaType("Send the body as application/json.")
    return decode(await read_body(request), type_)


async def read_any_json(request: Request) -> Any:
    return await read_json(request, Any)  # type: ignore[arg-type]


class ClientAddress:
    """Settles the client's address (``scope["client"]``) and scheme before anything reads
    them: every per-address limit counts this address.

    - The peer is the client, whatever headers it sends, unless the peer is one of
      ``trusted`` (``ROLLCALL_TRUSTED_PROXIES``; none by default).
    - From a trusted peer: ``X-Forwarded-For`` is read from the right, past the trusted
      proxies' own hops; the first address that is not a trusted proxy is the client (so a
      client that writes its own ``X-Forwarded-For`` only adds hops to the left, which are
      never read). All hops trusted: the left-most. A hop that is not an IP address ends the
      walk at the last trusted one. ``X-Forwarded-Proto`` (``http`` or ``https``, the
      right-most value) sets the scheme, so cookies are marked Secure behind a TLS proxy.
    """

    def __init__(self, app: ASGIApp, trusted: tuple[IPNetwork, ...] = ()) -> None:
        self.app = app
        self.trusted = trusted

    def _is_trusted(self, host: str) -> bool:
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if (self.trusted and scope["type"] in ("http", "websocket") and client
                and self._is_trusted(client[0])):
            scope = dict(scope)
            forwarded: list[str] = []
            proto = ""
            for name, value in scope.get("headers", ()):
                if name == b"x-forwarded-for":
                    forwarded += value.decode("latin-1").split(",")
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").split(",")[-1].strip().lower()
            host = client[0]
            for hop in reversed(forwarded):
                hop = hop.strip()
                try:
                    host = str(ipaddress.ip_address(hop))
                except ValueError:
                    break
                if not self._is_trusted(host):
                    break
            scope["client"] = (host, 0 if host != client[0] else client[1])
            if proto in ("http", "https"):
                secure = proto == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
