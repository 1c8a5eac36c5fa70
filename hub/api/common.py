"""What every v2 handler shares: the caller, the admin check, and PUT's null/"" rule."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from hub.auth import Principal
from hub.state import Hub, hub_of


async def caller(request: Request, permission: str | None = "admin") -> tuple[Hub, Principal]:
    """The hub and the authenticated caller; 401 without credentials, 403 without
    ``permission`` (API keys hold every permission)."""
    hub = hub_of(request)
    principal = await hub.principal(request)
    if permission is not None:
        principal.require(permission)
    return hub, principal


def put_value(value: Any) -> tuple[bool, Any]:
    """PUT semantics: (False, _) leaves the field; (True, None) unsets; (True, v) sets."""
    if value is None:
        return False, None
    if value == "" and not isinstance(value, bool):
        return True, None
    return True, value
