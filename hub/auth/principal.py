"""Who is asking, and what each kind of caller may do: one ``may_*`` function per permission.

No I/O: a ``Principal`` is resolved elsewhere (``hub.auth.cookies.authenticate``) and these
functions only read it. API keys hold every permission; so does a staff member with
``admin``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import Forbidden

PERMISSIONS = ("scan", "override", "moderate", "admin")


@dataclass(frozen=True)
class Principal:
    """The caller. ``actor`` is what records keep as "who did it"."""

    kind: str  # "api_key" | "staff" | "kiosk" | "attendee" | "moderator"
    actor: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    staff_id: int | None = None
    attendee_id: int | None = None
    session_id: str | None = None  # a kiosk's or a moderator's session

    @property
    def api_key_id(self) -> int | None:
        """The API key's id, for an API key ("api_key:ID")."""
        if self.kind != "api_key" or not self.actor.startswith("api_key:"):
            return None
        raw = self.actor[len("api_key:"):]
        return int(raw) if raw.isascii() and raw.isdigit() else None

    @property
    def scope(self) -> str:
        """Whose idempotency keys these are: the API key, the staff member, the kiosk (a
        staff member's kiosk, in its session) or the attendee. Two callers never share a
        scope, so one's key never reaches the other's stored answer."""
        if self.kind == "api_key":
            return f"key:{self.api_key_id}"
        if self.kind == "staff":
            return f"staff:{self.staff_id}"
        if self.kind == "kiosk":
            return f"kiosk:{self.staff_id}"
        if self.kind == "attendee":
            return f"attendee:{self.attendee_id}"
        return self.actor

    def can(self, permission: str) -> bool:
        """Holds ``permission`` (API keys and admins hold all)."""
        if self.kind == "api_key":
            return True
        if "admin" in self.permissions:
            return True
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"This needs the {permission} permission.")


def may_administer(p: Principal) -> bool:
    """Set up the event, sessions, staff and keys; read everything (the admin API)."""
    return p.kind == "api_key" or (p.kind == "staff" and p.can("admin"))


def may_scan(p: Principal) -> bool:
    """Check people in and out at a door, open a kiosk."""
    return p.kind == "api_key" or (p.kind == "staff" and p.can("scan"))


def may_override(p: Principal) -> bool:
    """Admit someone past a restriction (recorded with who did it)."""
    return p.kind == "api_key" or (p.kind == "staff" and p.can("override"))


def may_moderate(p: Principal, session_id: str | None) -> bool:
    """Run a session: prompt its attendees (and, for a session's moderator, only that one)."""
    if p.kind == "api_key":
        return True
    if p.kind == "staff":
        return p.can("moderate")
    return p.kind == "moderator" and p.session_id == session_id


def may_watch(p: Principal, session_id: str | None) -> bool:
    """Read a session's counts, records (names, emails, badges, notes) and live dashboard
    (``session_id`` None: every session, the event dashboard): API keys, staff who scan,
    moderate or administer, and the moderator of that session. Not a kiosk: its page only
    searches its own session's registered attendees (names and masked emails) and checks
    them in."""
    if p.kind == "api_key":
        return True
    if p.kind == "staff":
        return p.can("scan") or p.can("moderate")
    if p.kind == "moderator":
        return session_id is not None and p.session_id == session_id
    return False


def may_submit_codeword(p: Principal) -> bool:
    """Submit a codeword: the attendee themself, API keys, staff who scan or moderate."""
    return p.kind in ("attendee", "api_key") or (
        p.kind == "staff" and (p.can("scan") or p.can("moderate")))
