"""Sessions and presenters as integrators write them: validation, then one transaction.

``session_changes`` checks a whole request body without touching the database and raises
``Invalid`` naming the first bad field; only then does ``create_session`` / ``update_session``
write, in the caller's transaction. Presenter look-ups that need the database (an unknown
internal id) raise inside that transaction, so a refused request still writes nothing.

The rules are the Conferences i/o reference's:
- null or omitted leaves a field; "" unsets it (``name`` cannot be unset);
- dates and times are parsed by ``hub.domain.dates`` and stored as dates and times;
- fields_of_study: up to 7 entries of name + numeric credits; a malformed list is not an
  error, it empties the session's fields of study;
- presenters: by internal id (then name and external_id are updated), else by external_id
  (created if none has it), else by name (created if none has it).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.dates import is_timezone, parse_date, parse_time
from hub.domain.schemas import MAX_CODEWORDS, MAX_FIELDS_OF_STUDY, SessionIn, put_value
from hub.errors import Invalid
from storage import presenters as presenter_store
from storage import sessions as session_store
from storage.sessions import FieldOfStudy

# Plain text columns: "" unsets, anything else is stored as sent.
_TEXT = (
    "external_id",
    "location",
    "description",
    "access_code",
    "moderator_password",
    "checkin_code",
    "checkout_code",
)
# Columns whose JSON value is stored as it is once "" has been mapped to unset.
_PLAIN = (
    "checkin_required",
    "checkout_required",
    "delivery_format",
    "capacity",
    "registrants_only",
    "ce_minutes",
    "rank",
    "hidden",
    "self_registration",
)
_MAX_CREDITS = decimal.Decimal(1000)
_KEEP = object()  # "not given": leave the presenter's external_id as it is


@dataclass(frozen=True)
class PresenterSpec:
    """One presenters[] entry, normalised. ``external_id`` is _KEEP when not given."""

    index: int
    id: str | None
    name: str | None
    external_id: Any


@dataclass
class SessionChanges:
    columns: dict[str, Any]
    presenters: list[PresenterSpec] | None  # None: leave as is; []: remove all
    fields: list[FieldOfStudy] | None  # None: leave as is; []: remove all


def session_changes(body: SessionIn, *, creating: bool) -> SessionChanges:
    """Validate a POST/PUT body completely; raise Invalid naming the first bad field."""
    columns: dict[str, Any] = {}
    name = body.name
    if creating and (name is None or not name.strip()):
        raise Invalid("name", "is required")
    if name is not None:
        if not name.strip():
            raise Invalid("name", "cannot be blank: every session needs a name")
        columns["name"] = name
    for col in _TEXT:
        present, value = put_value(getattr(body, col))
        if present:
            columns[col] = value
    for col in _PLAIN:
        present, value = put_value(getattr(body, col))
        if present:
            columns[col] = value
    present, value = put_value(body.date)
    if present:
        columns["date"] = None if value is None else parse_date("date", value)
    for col in ("start_time", "end_time"):
        present, value = put_value(getattr(body, col))
        if present:
            columns[col] = None if value is None else parse_time(col, value)
    tz = body.timezone
    if tz is not None and tz not in (-1, "-1", "") and not (isinstance(tz, str)
                                                          and is_timezone(tz)):
        raise Invalid("timezone", f"{tz!r} is not a tz database name (or -1 for none); a "
                      "session's times are in the event's time zone, set with PUT /app")
    for col in ("learning_objectives", "registration_levels"):
        present, value = put_value(getattr(body, col))
        if present:
            columns[col] = _string_list(value)
    present, value = put_value(body.credit_url)
    if present:
        columns["credit_url"] = None if value is None else _https_url("credit_url", value)
    if creating:
        columns = {k: v for k, v in columns.items() if v is not None}
    return SessionChanges(
        columns=columns,
        presenters=_presenter_specs(body.presenters),
        fields=None if body.fields_of_study is None else parse_fields_of_study(
            body.fields_of_study
        ),
    )


def _string_list(value: list[str] | None) -> list[str] | None:
    """A list kept in order without repeats; an empty list is stored as unset."""
    if not value:
        return None
    out: list[str] = []
    for item in value:
        if item not in out:
            out.append(item)
    return out


def _https_url(field: str, value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise Invalid(field, f"{value!r} is not a link") from None
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in text):
        raise Invalid(field, "must be an https:// link")
    return text


def _presenter_specs(value: Any) -> list[PresenterSpec] | None:
    if value is None:
        return None
    if value == "":
        return []
    specs = []
    for i, ref in enumerate(value):
        pid = (ref.id or "").strip() or None
        name = None if ref.name is None else ref.name.strip()
        if ref.external_id is None:
            ext: Any = _KEEP
        else:
            ext = ref.external_id.strip() or None
        if pid is None and ext in (_KEEP, None) and not name:
            raise Invalid(f"presenters[{i}]", "needs a name, an external_id or an id")
        if name == "":
            if pid is not None:
                raise Invalid(f"presenters[{i}].name", "cannot be blank")
            name = None
        specs.append(PresenterSpec(index=i, id=pid, name=name, external_id=ext))
    return specs


class _Malformed(Exception):
    """A fields_of_study list the reference says to drop silently."""


def parse_fields_of_study(value: Any) -> list[FieldOfStudy]:
    """The reference's lenient rule: anything malformed gives an empty list, never an error.

    Malformed: not a list; more than 7 entries; an entry that is not an object with a
    non-blank ``name`` and numeric, non-negative ``credits`` (a string, or a JSON number);
    two entries with the same name; ``codewords`` that are not a list of non-blank strings.
    """
    try:
        return _fields_of_study(value)
    except _Malformed:
        return []


def _fields_of_study(value: Any) -> list[FieldOfStudy]:
    if not isinstance(value, list) or len(value) > MAX_FIELDS_OF_STUDY:
        raise _Malformed
    out: list[FieldOfStudy] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict):
            raise _Malformed
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 1000:
            raise _Malformed
        name = name.strip()
        if name.lower() in seen:
            raise _Malformed
        seen.add(name.lower())
        out.append(FieldOfStudy(name=name, credits=_credits(item.get("credits")),
                                codewords=_codewords(item.get("codewords"))))
    return out


def _credits(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Malformed
    text = raw.strip() if isinstance(raw, str) else repr(raw)
    if not text or len(text) > 32:
        raise _Malformed
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise _Malformed from None
    if not value.is_finite() or value < 0 or value > _MAX_CREDITS:
        raise _Malformed
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _codewords(raw: Any) -> list[str] | None:
    """None: not given (keep the existing field's words); else the new words."""
    if raw is None:
        return None
    if raw == "":
        return []
    if not isinstance(raw, list) or len(raw) > MAX_CODEWORDS:
        raise _Malformed
    words: list[str] = []
    for w in raw:
        if not isinstance(w, str) or not w.strip() or len(w) > 1000:
            raise _Malformed
        w = w.strip()
        if w.lower() not in (x.lower() for x in words):
            words.append(w)
    return words


async def resolve_presenters(conn: AsyncConnection, specs: list[PresenterSpec]) -> list[str]:
    """Find, create or update each presenter; return their ids in order, without repeats.

    Serialised across transactions (an advisory lock on PostgreSQL; SQLite has one writer),
    so two requests naming the same new presenter create it once.
    """
    if not specs:
        return []
    await presenter_store.lock_presenters(conn)
    ids: list[str] = []
    for spec in specs:
        pid = await _resolve_one(conn, spec)
        if pid not in ids:
            ids.append(pid)
    return ids


async def _resolve_one(conn: AsyncConnection, spec: PresenterSpec) -> str:
    where = f"presenters[{spec.index}]"
    if spec.id is not None:
        row = await presenter_store.presenter_by_id(conn, spec.id)
        if row is None:
            raise Invalid(f"{where}.id", f"no presenter has the id {spec.id!r}")
        values: dict[str, Any] = {}
        if spec.name is not None:
            values["name"] = spec.name
        if spec.external_id is not _KEEP:
            if spec.external_id is not None and await presenter_store.external_id_taken(
                conn, spec.external_id, except_id=row.id
            ):
                raise Invalid(f"{where}.external_id",
                              f"{spec.external_id!r} belongs to another presenter")
            values["external_id"] = spec.external_id
        if values:
            await presenter_store.update_presenter(conn, row.id, values=values)
        return str(row.id)
    if spec.external_id not in (_KEEP, None):
        row = await presenter_store.presenter_by_external_id(conn, spec.external_id)
        if row is not None:
            return str(row.id)
        if spec.name is None:
            raise Invalid(f"{where}.name", "is required to create a presenter")
        return await presenter_store.insert_presenter(
            conn, name=spec.name, external_id=spec.external_id
        )
    assert spec.name is not None  # checked by _presenter_specs
    row = await presenter_store.presenter_by_name(conn, spec.name)
    if row is not None:
        return str(row.id)
    return await presenter_store.insert_presenter(conn, name=spec.name, external_id=None)


async def create_session(conn: AsyncConnection, changes: SessionChanges) -> str:
    sid = await session_store.insert_session(conn, values=changes.columns)
    await _write_children(conn, sid, changes)
    return sid


async def update_session(conn: AsyncConnection, sid: str, changes: SessionChanges) -> bool:
    """Apply the changes; False if there is no such session (nothing written)."""
    if not await session_store.lock_session(conn, sid):
        return False
    if changes.columns:
        await session_store.update_session(conn, sid, values=changes.columns)
    await _write_children(conn, sid, changes)
    return True


async def _write_children(conn: AsyncConnection, sid: str, changes: SessionChanges) -> None:
    if changes.presenters is not None:
        ids = await resolve_presenters(conn, changes.presenters)
        await presenter_store.set_session_presenters(conn, sid, ids)
    if changes.fields is not None:
        await session_store.replace_fields_of_study(conn, sid, changes.fields)
