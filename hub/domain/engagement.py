"""Live engagement rules: polls and their answers, Q&A questions, and when a session's
evaluation is open. Pure functions: no I/O, no clock (the caller passes ``now``).

Polls have a type and a state:

- ``multiple_choice``: one of ``choices``; ``multiple_select``: one or more of them (stored as
  a JSON array of the chosen choices, in the poll's order); ``rating``: a whole number 1-5
  (choices are ``["1", ..., "5"]``); ``open_text``: free text (no choices).
- ``draft`` (moderators prepare it; attendees do not see it), ``open`` (attendees answer, one
  answer each, changeable), ``closed`` (answers refused; results kept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec

from hub.errors import Invalid

POLL_TYPES = ("multiple_choice", "multiple_select", "rating", "open_text")
POLL_STATES = ("draft", "open", "closed")
RATING_CHOICES = ["1", "2", "3", "4", "5"]
MAX_CHOICES = 20
MAX_CHOICE_LENGTH = 200
MAX_TEXT_ANSWER = 1000
QUESTION_MIN, QUESTION_MAX = 3, 500
TEXTS_SHOWN = 50  # open-text answers a live results frame carries (the newest)
DEFAULT_UNLOCK_MINUTES = 10

_json = msgspec.json.Encoder()
_list_of_str = msgspec.json.Decoder(list[str])


def poll_choices(poll_type: str, choices: list[str] | None) -> list[str]:
    """The stored choices of a poll of ``poll_type``; raises Invalid for a bad list."""
    if poll_type not in POLL_TYPES:
        raise Invalid("type", f"must be one of {', '.join(POLL_TYPES)}")
    if poll_type == "rating":
        return list(RATING_CHOICES)
    if poll_type == "open_text":
        return []
    cleaned = [c.strip() for c in choices or []]
    if len(cleaned) < 2:
        raise Invalid("choices", f"a {poll_type} poll needs at least 2 choices")
    if len(cleaned) > MAX_CHOICES:
        raise Invalid("choices", f"at most {MAX_CHOICES} choices")
    for i, c in enumerate(cleaned):
        if not c:
            raise Invalid(f"choices[{i}]", "must not be blank")
        if len(c) > MAX_CHOICE_LENGTH:
            raise Invalid(f"choices[{i}]", f"at most {MAX_CHOICE_LENGTH} characters")
    if len({c.casefold() for c in cleaned}) != len(cleaned):
        raise Invalid("choices", "must be different from each other")
    return cleaned


def poll_answer(poll_type: str, choices: list[str], value: Any) -> str:
    """An attendee's answer as it is stored (the ``response`` of the reference's shape);
    raises Invalid naming ``response``."""
    if poll_type == "multiple_choice":
        if not isinstance(value, str) or value not in choices:
            raise Invalid("response", "must be one of the poll's choices")
        return value
    if poll_type == "multiple_select":
        picked = [value] if isinstance(value, str) else value
        if not isinstance(picked, list) or not picked or not all(
                isinstance(v, str) for v in picked):
            raise Invalid("response", "must be a non-empty list of the poll's choices")
        unknown = [v for v in picked if v not in choices]
        if unknown:
            raise Invalid("response", f"{unknown[0]!r} is not one of the poll's choices")
        chosen = set(picked)
        return _json.encode([c for c in choices if c in chosen]).decode()
    if poll_type == "rating":
        if isinstance(value, str) and value.strip() in RATING_CHOICES:
            return value.strip()
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise Invalid("response", "must be a whole number from 1 to 5")
        return str(value)
    if poll_type == "open_text":
        if not isinstance(value, str) or not value.strip():
            raise Invalid("response", "must be some text")
        text = value.strip()
        if len(text) > MAX_TEXT_ANSWER:
            raise Invalid("response", f"at most {MAX_TEXT_ANSWER} characters")
        return text
    raise RuntimeError(f"unknown poll type {poll_type!r}")


class Results(msgspec.Struct, omit_defaults=True):
    """A poll's results as of now: ``total`` answers; ``counts`` per choice (for a
    multiple_select poll an answer counts once for each choice it picked); ``average`` for a
    rating poll; the newest ``texts`` for an open_text poll."""

    total: int
    counts: dict[str, int]
    average: float | None = None
    texts: list[str] | None = None


def tally(poll_type: str, choices: list[str], grouped: Iterable[tuple[str, int]],
          newest_texts: list[str] | None = None) -> Results:
    """Results from the answers grouped by stored value: ``(response, how many)``."""
    counts = {c: 0 for c in choices}
    total = 0
    for value, n in grouped:
        total += n
        if poll_type == "multiple_select":
            try:
                picked = _list_of_str.decode(value)
            except msgspec.DecodeError:
                continue
            for c in picked:
                if c in counts:
                    counts[c] += n
        elif value in counts:
            counts[value] += n
    average = None
    if poll_type == "rating" and total:
        average = round(sum(int(c) * n for c, n in counts.items()) / total, 2)
    texts = (newest_texts or [])[:TEXTS_SHOWN] if poll_type == "open_text" else None
    return Results(total=total, counts=counts, average=average, texts=texts)


def question_text(value: Any) -> str:
    """A question as asked: trimmed, 3-500 characters; raises Invalid naming ``question``."""
    if not isinstance(value, str):
        raise Invalid("question", "must be text")
    text = " ".join(value.split())
    if len(text) < QUESTION_MIN:
        raise Invalid("question", f"at least {QUESTION_MIN} characters")
    if len(text) > QUESTION_MAX:
        raise Invalid("question", f"at most {QUESTION_MAX} characters")
    return text


# --- evaluations ---------------------------------------------------------------------------


def unlock_minutes(app_minutes: int | None, session_minutes: int | None) -> int:
    """Minutes before the scheduled end the evaluation opens: the session's, else the
    event's, else 10. 0 means at the end."""
    for m in (session_minutes, app_minutes):
        if m is not None:
            return m
    return DEFAULT_UNLOCK_MINUTES


def opens_at(end: dt.datetime | None, minutes: int,
             unlocked_at: dt.datetime | None) -> dt.datetime | None:
    """When the evaluation opens: ``minutes`` before the scheduled end, or when a moderator
    unlocked it, whichever is first; None when neither is known (no end, not unlocked)."""
    scheduled = end - dt.timedelta(minutes=minutes) if end is not None else None
    known = [t for t in (scheduled, unlocked_at) if t is not None]
    return min(known) if known else None


def is_open(now: dt.datetime, at: dt.datetime | None) -> bool:
    return at is not None and now >= at


# --- what live frames and the API carry ------------------------------------------------------


class PollLive(msgspec.Struct, omit_defaults=True):
    """A poll as moderators see it (``results`` always) and attendees see it (``results``
    only once revealed)."""

    id: str
    name: str
    rank: int | None
    type: str
    choices: list[str]
    state: str
    revealed: bool
    created: str | None
    results: Results | None = None


class QuestionLive(msgspec.Struct):
    """A question as the session's live views carry it."""

    id: int
    question: str
    upvotes: int
    answered: bool
    approved: bool
    hidden: bool
    starred: bool
    created: str | None


def for_attendees(polls: list[PollLive]) -> list[PollLive]:
    """What attendees see: open polls, and closed ones whose results were revealed; results
    only when revealed."""
    out = []
    for p in polls:
        if p.state == "draft" or (p.state == "closed" and not p.revealed):
            continue
        out.append(p if p.revealed else msgspec.structs.replace(p, results=None))
    return out


def visible_questions(questions: list[QuestionLive]) -> list[QuestionLive]:
    """What attendees and the presenter screen see: approved questions not hidden."""
    return [q for q in questions if q.approved and not q.hidden]
