"""SQLModel tables for the whole domain. The schema changes only through Alembic migrations.

Timestamps are stored in UTC. SQLite hands them back naive; ``hub.domain.dates.as_utc`` mends
that in one place.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

JSONType = sa.JSON().with_variant(sa.JSON(), "sqlite")


def _ts(nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


def _key_of(target: str, kind: Any) -> Any:
    """A primary-key column that is also a foreign key to ``target``, deleted with it."""
    return Field(sa_column=sa.Column(kind, sa.ForeignKey(target, ondelete="CASCADE"),
                                     primary_key=True))


class AppSettingsRow(SQLModel, table=True):
    """The event. Exactly one row, id 1."""

    __tablename__ = "app_settings"
    id: int = Field(default=1, primary_key=True)
    name: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    timezone: str | None = None
    app_password: str | None = None
    moderator_password: str | None = None
    custom_attendee_field_1: str | None = None
    custom_attendee_field_2: str | None = None
    custom_attendee_field_3: str | None = None
    custom_attendee_field_4: str | None = None
    custom_attendee_field_5: str | None = None
    secret_key: str | None = None
    # The event-wide CE credit rule (see hub.domain.credit); sessions may override it.
    credit_rule: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    # The attendee app's status line: one message per state (hub.domain.status); null: defaults.
    status_messages: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    # Whether self-reported sessions earn CE credit (null: they do).
    self_report_credit: bool | None = None
    # The certificate (hub.domain.certificate): its title, issuer, sponsor id, signature, logo.
    certificate_title: str | None = None
    certificate_issuer: str | None = None
    certificate_sponsor_id: str | None = None
    certificate_signature: str | None = None
    certificate_logo: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    # Live engagement: questions wait for a moderator's approval; when evaluations unlock
    # (minutes before the scheduled end; null: 10); whether they need a check-in.
    qa_approval: bool | None = None
    evaluation_unlock_minutes: int | None = None
    evaluation_requires_checkin: bool | None = None


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"
    id: str = Field(primary_key=True, max_length=16)
    external_id: str | None = Field(default=None, index=True)
    name: str
    location: str | None = None
    description: str | None = None
    date: dt.date | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    access_code: str | None = None
    moderator_password: str | None = None
    learning_objectives: list | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    checkin_required: bool | None = None
    checkout_required: bool | None = None
    checkin_code: str | None = None
    checkout_code: str | None = None
    delivery_format: str | None = None
    capacity: int | None = None
    registrants_only: bool | None = None
    registration_levels: list | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    ce_minutes: int | None = None
    rank: int | None = None
    hidden: bool | None = None
    credit_url: str | None = None
    credit_rule: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    # Attendees may put the session on their own schedule (the status's ``register`` action).
    self_registration: bool | None = None
    # Live engagement overrides of the event's settings (null: as the event says).
    qa_approval: bool | None = None
    evaluation_unlock_minutes: int | None = None
    evaluation_requires_checkin: bool | None = None
    # A moderator opened the evaluation early.
    evaluation_unlocked_at: datetime | None = Field(default=None, sa_column=_ts())
    created_at: datetime = Field(sa_column=_ts(False))
    # An admin has set seat leases off for this session (offline doors get none).
    leasing_off: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))


class SessionCounterRow(SQLModel, table=True):
    """The door's hot row: capacity gate and event sequence in one place.

    Every accepted door action updates this row with one conditional statement, so the
    database settles races: ``in_room`` never passes ``capacity`` without an override, and
    ``seq`` is strictly increasing per session.
    """

    __tablename__ = "session_counters"
    session_id: str = _key_of("sessions.id", sa.String(16))
    seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    registered: int = 0
    checked_in: int = 0
    in_room: int = 0
    epoch: str = Field(max_length=16)


class PresenterRow(SQLModel, table=True):
    __tablename__ = "presenters"
    id: str = Field(primary_key=True, max_length=32)
    external_id: str | None = Field(default=None, index=True)
    name: str = Field(index=True)


class SessionPresenterRow(SQLModel, table=True):
    __tablename__ = "session_presenters"
    session_id: str = _key_of("sessions.id", sa.String(16))
    presenter_id: str = Field(
        sa_column=sa.Column(
            sa.String(32), sa.ForeignKey("presenters.id", ondelete="CASCADE"), primary_key=True
        )
    )
    position: int = 0


class FieldOfStudyRow(SQLModel, table=True):
    __tablename__ = "fields_of_study"
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), index=True
        )
    )
    position: int = 0
    name: str
    credits: str


class CodewordRow(SQLModel, table=True):
    __tablename__ = "codewords"
    id: int | None = Field(default=None, primary_key=True)
    field_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("fields_of_study.id", ondelete="CASCADE"), index=True
        )
    )
    position: int = 0
    word: str


class AttendeeRow(SQLModel, table=True):
    __tablename__ = "attendees"
    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, unique=True)
    email: str | None = None
    email_lower: str | None = Field(default=None, index=True)
    first_name: str | None = None
    last_name: str | None = None
    badge_id: str | None = Field(default=None, unique=True)
    registration_level: str | None = None
    field_1: str | None = None
    field_2: str | None = None
    field_3: str | None = None
    field_4: str | None = None
    field_5: str | None = None
    created_at: datetime = Field(sa_column=_ts(False))


class RegistrationRow(SQLModel, table=True):
    """An attendee has the session on their schedule."""

    __tablename__ = "registrations"
    session_id: str = _key_of("sessions.id", sa.String(16))
    attendee_id: int = _key_of("attendees.id", sa.Integer)
    created_at: datetime = Field(sa_column=_ts(False))


class CheckinRecordRow(SQLModel, table=True):
    """One per attendee per session: the attendance record of the API reference."""

    __tablename__ = "checkin_records"
    __table_args__ = (sa.UniqueConstraint("session_id", "attendee_id", name="uq_record_once"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
        )
    )
    attendee_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("attendees.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    checkin_time: datetime | None = Field(default=None, sa_column=_ts())
    checkout_time: datetime | None = Field(default=None, sa_column=_ts())
    checkin_time_actual: datetime | None = Field(default=None, sa_column=_ts())
    checkout_time_actual: datetime | None = Field(default=None, sa_column=_ts())
    # Start of the current interval in the room; null when not in the room.
    in_since: datetime | None = Field(default=None, sa_column=_ts())
    seconds_attended: int = 0
    delivery_format: str | None = None
    admin_note: str | None = None
    attendee_note: str | None = None
    checkin_source: str | None = None
    checkout_source: str | None = None
    evaluation_complete: bool = False
    updated_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))


class CheckinHistoryRow(SQLModel, table=True):
    __tablename__ = "checkin_history"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("checkin_records.id", ondelete="CASCADE"), index=True
        )
    )
    action: str  # "checkin" | "checkout"
    timestamp: datetime = Field(sa_column=_ts(False))
    source: str | None = None
    actor: str | None = None


class OverrideRow(SQLModel, table=True):
    """Who admitted someone past a rule, when and why."""

    __tablename__ = "overrides"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("checkin_records.id", ondelete="CASCADE"), index=True
        )
    )
    rule: str
    actor: str
    reason: str | None = None
    at: datetime = Field(sa_column=_ts(False))


class CodewordSubmissionRow(SQLModel, table=True):
    __tablename__ = "codeword_submissions"
    __table_args__ = (sa.UniqueConstraint("record_id", "codeword_id", name="uq_codeword_once"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("checkin_records.id", ondelete="CASCADE"), index=True
        )
    )
    codeword_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("codewords.id", ondelete="CASCADE"))
    )
    submitted_at: datetime = Field(sa_column=_ts(False))


class CreditAdjustmentRow(SQLModel, table=True):
    """An admin's change to the credits awarded for one field of study; the original stays."""

    __tablename__ = "credit_adjustments"
    __table_args__ = (sa.UniqueConstraint("record_id", "field_id", name="uq_adjust_once"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("checkin_records.id", ondelete="CASCADE"), index=True
        )
    )
    field_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("fields_of_study.id", ondelete="CASCADE"))
    )
    credits: float
    note: str | None = None
    actor: str | None = None
    at: datetime = Field(sa_column=_ts(False))


class CreditClaimRow(SQLModel, table=True):
    """The external credit site (or an integrator) said this attendee claimed the session's
    credit: the status becomes ``credit_claimed`` for good."""

    __tablename__ = "credit_claims"
    session_id: str = _key_of("sessions.id", sa.String(16))
    attendee_id: int = _key_of("attendees.id", sa.Integer)
    claimed_at: datetime = Field(sa_column=_ts(False))
    actor: str | None = None


class CertificateRow(SQLModel, table=True):
    """An attendee's certificate for the event: its verification code, issued once and kept
    (a certificate downloaded again shows the same code); revoked ones verify as revoked."""

    __tablename__ = "certificates"
    attendee_id: int = _key_of("attendees.id", sa.Integer)
    code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False, unique=True))
    issued_at: datetime = Field(sa_column=_ts(False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts())


class SessionEventRow(SQLModel, table=True):
    """The per-session event log the real-time hub publishes and replays (``?since=``)."""

    __tablename__ = "session_events"
    session_id: str = _key_of("sessions.id", sa.String(16))
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    kind: str
    payload: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_ts(False))


class IdempotencyRow(SQLModel, table=True):
    """One answer per idempotency key: a retried request gets the first answer again.

    ``key`` is "{session}/{action}/{caller}/{client's key}" (the caller: an API key, a staff
    member, a kiosk or an attendee), so a key never reaches another caller's answer;
    ``fingerprint`` binds it to the request it answered (``hub.door.decide.fingerprint``);
    ``attendee_id`` is whose record it answered, so that removing a record forgets it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_attendee", "session_id", "attendee_id"),)
    key: str = Field(primary_key=True, max_length=300)
    session_id: str = Field(
        sa_column=sa.Column(sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    )
    attendee_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("attendees.id", ondelete="CASCADE"),
                            nullable=True),
    )
    fingerprint: str | None = Field(default=None, max_length=64)
    response: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_ts(False))


class DoorLogRow(SQLModel, table=True):
    """Every door action, accepted or refused, one row each (the scans report). Written in the
    door's batch transaction with the rest of the batch; what was presented is kept even when
    it named no attendee."""

    __tablename__ = "door_log"
    __table_args__ = (sa.Index("ix_door_log_session_id", "session_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
        )
    )
    at: datetime = Field(sa_column=_ts(False))
    action: str  # "checkin" | "checkout"
    result: str  # "ok", or the refusal's reason
    attendee_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("attendees.id", ondelete="SET NULL"), nullable=True
        ),
    )
    presented_as: str | None = None  # "external_id" | "badge_id" | "email"; null: themself
    presented: str | None = None
    source: str | None = None
    actor: str | None = None


class SeatLeaseRow(SQLModel, table=True):
    """Seats a door holds for a session while it may be offline: reserved against capacity
    until used, returned, or ``expires_at`` passes (then they are free again by themselves:
    every count of leased seats reads only the leases still running)."""

    __tablename__ = "seat_leases"
    __table_args__ = (sa.Index("ix_seat_leases_session", "session_id", "expires_at"),)
    id: str = Field(primary_key=True, max_length=32)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
        )
    )
    seats: int
    used: int = 0
    created_at: datetime = Field(sa_column=_ts(False))
    expires_at: datetime = Field(sa_column=_ts(False))
    returned_at: datetime | None = Field(default=None, sa_column=_ts())
    actor: str | None = None


class DoorConflictRow(SQLModel, table=True):
    """An uploaded door action the hub judged differently from the offline door that took it
    (the same attendee at two doors, an attendee removed meanwhile, a lease that ran out):
    kept for staff to review, with what the door decided and what the hub answered."""

    __tablename__ = "door_conflicts"
    __table_args__ = (sa.Index("ix_door_conflicts_session", "session_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
        )
    )
    attendee_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("attendees.id", ondelete="SET NULL"), nullable=True
        ),
    )
    kind: str  # "double_admission" | "removed" | "lease_expired" | "refused"
    action: str  # "checkin" | "checkout"
    door_decided: str  # what the offline door decided: "ok" or a reason
    hub_result: str  # what the hub answered: a reason
    presented: str | None = None  # e.g. "badge_id: B-123"
    lease_id: str | None = None
    scanned_at: datetime | None = Field(default=None, sa_column=_ts())
    uploaded_at: datetime = Field(sa_column=_ts(False))
    actor: str | None = None  # who uploaded it (the door's staff member, kiosk or key)
    # The retry of an upload does not list the same action twice.
    idempotency_key: str | None = Field(default=None, max_length=300, unique=True)


class StaffUserRow(SQLModel, table=True):
    __tablename__ = "staff_users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str | None = None
    password_hash: str
    permissions: str = ""  # comma-separated: scan,override,moderate,admin
    disabled: bool = False
    created_at: datetime = Field(sa_column=_ts(False))
    # Bumped by a password change and by disabling: every sign-in opened before is void.
    login_generation: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class StaffLoginRow(SQLModel, table=True):
    """One staff sign-in (a browser's staff cookie, or a kiosk it opened). The cookie names
    the row; signing out deletes it, and a cookie whose row is gone, expired or of an older
    ``login_generation`` than its staff member's signs nobody in."""

    __tablename__ = "staff_logins"
    id: str = Field(primary_key=True, max_length=32)
    staff_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
                            nullable=False, index=True))
    generation: int
    # The session a kiosk is locked to (None: a staff sign-in). Deleting the session ends it.
    kiosk_session: str | None = Field(
        default=None,
        sa_column=sa.Column(sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                            nullable=True))
    created_at: datetime = Field(sa_column=_ts(False))
    expires_at: datetime = Field(sa_column=_ts(False))


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: int | None = Field(default=None, primary_key=True)
    description: str
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(sa_column=_ts(False))
    disabled_at: datetime | None = Field(default=None, sa_column=_ts())


class EvaluationResponseRow(SQLModel, table=True):
    __tablename__ = "evaluation_responses"
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), index=True
        )
    )
    attendee_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("attendees.id", ondelete="CASCADE"))
    )
    presenter_id: str | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.String(32), sa.ForeignKey("presenters.id", ondelete="SET NULL"), nullable=True
        ),
    )
    question: str
    response: str
    response_value: float | None = None
    timestamp: datetime = Field(sa_column=_ts(False))


class PollRow(SQLModel, table=True):
    __tablename__ = "polls"
    id: str = Field(primary_key=True, max_length=32)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), index=True
        )
    )
    name: str
    rank: int | None = None
    type: str = "multiple_choice"
    choices: list = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))  # type: ignore[type-arg]
    created: datetime = Field(sa_column=_ts(False))
    # "draft" (not yet shown), "open" (attendees answer), "closed" (answers refused).
    state: str = Field(default="draft", sa_column=sa.Column(
        sa.String(8), nullable=False, server_default="draft"))
    # Results shown to attendees too, not only to moderators.
    revealed: bool = Field(default=False, sa_column=sa.Column(
        sa.Boolean, nullable=False, server_default=sa.false()))


class PollResponseRow(SQLModel, table=True):
    """One answer per attendee per poll (changed in place while the poll is open)."""

    __tablename__ = "poll_responses"
    __table_args__ = (sa.UniqueConstraint("poll_id", "attendee_id", name="uq_poll_answer_once"),)
    id: int | None = Field(default=None, primary_key=True)
    poll_id: str = Field(
        sa_column=sa.Column(sa.String(32), sa.ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    )
    attendee_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("attendees.id", ondelete="SET NULL"), nullable=True
        ),
    )
    choice: str
    created: datetime = Field(sa_column=_ts(False))


class QuestionRow(SQLModel, table=True):
    __tablename__ = "questions"
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), index=True
        )
    )
    attendee_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("attendees.id", ondelete="SET NULL"), nullable=True
        ),
    )
    text: str
    upvotes: int = 0
    answered: bool = False
    created: datetime = Field(sa_column=_ts(False))
    # Shown to attendees only once approved (immediately unless the session asks approval).
    approved: bool = Field(default=True, sa_column=sa.Column(
        sa.Boolean, nullable=False, server_default=sa.true()))
    hidden: bool = Field(default=False, sa_column=sa.Column(
        sa.Boolean, nullable=False, server_default=sa.false()))
    starred: bool = Field(default=False, sa_column=sa.Column(
        sa.Boolean, nullable=False, server_default=sa.false()))


class QuestionVoteRow(SQLModel, table=True):
    """One upvote per attendee per question: the key settles double votes."""

    __tablename__ = "question_votes"
    question_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True))
    attendee_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True))


class EvaluationQuestionRow(SQLModel, table=True):
    """The evaluation form: the event's questions (``session_id`` null), or a session's own
    set, which replaces the event's for that session."""

    __tablename__ = "evaluation_questions"
    id: int | None = Field(default=None, primary_key=True)
    session_id: str | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.String(16), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True,
            index=True,
        ),
    )
    position: int = 0
    kind: str  # "rating" | "multiple_choice" | "text"
    text: str
    # rating: five labels, "1 - Poor" .. "5 - Great"; multiple_choice: the choices.
    choices: list | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))  # type: ignore[type-arg]
    required: bool = True
    # Asked once per presenter of the session.
    per_presenter: bool = False


metadata = SQLModel.metadata

T_APP = AppSettingsRow.__table__  # type: ignore[attr-defined]
T_SESSIONS = SessionRow.__table__  # type: ignore[attr-defined]
T_COUNTERS = SessionCounterRow.__table__  # type: ignore[attr-defined]
T_PRESENTERS = PresenterRow.__table__  # type: ignore[attr-defined]
T_SESSION_PRESENTERS = SessionPresenterRow.__table__  # type: ignore[attr-defined]
T_FIELDS = FieldOfStudyRow.__table__  # type: ignore[attr-defined]
T_CODEWORDS = CodewordRow.__table__  # type: ignore[attr-defined]
T_ATTENDEES = AttendeeRow.__table__  # type: ignore[attr-defined]
T_REGISTRATIONS = RegistrationRow.__table__  # type: ignore[attr-defined]
T_RECORDS = CheckinRecordRow.__table__  # type: ignore[attr-defined]
T_HISTORY = CheckinHistoryRow.__table__  # type: ignore[attr-defined]
T_OVERRIDES = OverrideRow.__table__  # type: ignore[attr-defined]
T_CODEWORD_SUBMISSIONS = CodewordSubmissionRow.__table__  # type: ignore[attr-defined]
T_CREDIT_ADJUSTMENTS = CreditAdjustmentRow.__table__  # type: ignore[attr-defined]
T_CREDIT_CLAIMS = CreditClaimRow.__table__  # type: ignore[attr-defined]
T_CERTIFICATES = CertificateRow.__table__  # type: ignore[attr-defined]
T_EVENTS = SessionEventRow.__table__  # type: ignore[attr-defined]
T_IDEMPOTENCY = IdempotencyRow.__table__  # type: ignore[attr-defined]
T_DOOR_LOG = DoorLogRow.__table__  # type: ignore[attr-defined]
T_STAFF = StaffUserRow.__table__  # type: ignore[attr-defined]
T_API_KEYS = ApiKeyRow.__table__  # type: ignore[attr-defined]
T_EVALUATIONS = EvaluationResponseRow.__table__  # type: ignore[attr-defined]
T_POLLS = PollRow.__table__  # type: ignore[attr-defined]
T_POLL_RESPONSES = PollResponseRow.__table__  # type: ignore[attr-defined]
T_QUESTIONS = QuestionRow.__table__  # type: ignore[attr-defined]
T_STAFF_LOGINS = StaffLoginRow.__table__  # type: ignore[attr-defined]
T_QUESTION_VOTES = QuestionVoteRow.__table__  # type: ignore[attr-defined]
T_EVALUATION_QUESTIONS = EvaluationQuestionRow.__table__  # type: ignore[attr-defined]
T_LEASES = SeatLeaseRow.__table__  # type: ignore[attr-defined]
T_CONFLICTS = DoorConflictRow.__table__  # type: ignore[attr-defined]
