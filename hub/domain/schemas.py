"""Wire schemas of REST API v2 (msgspec). The OpenAPI document is generated from these.

PUT rules everywhere: a field that is null or omitted is left as it is; "" unsets it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Blank = Literal[""]


class AppSettingsIn(msgspec.Struct, forbid_unknown_fields=False):
    name: str | None = None
    url: str | None = None  # read-only; accepted and ignored
    start_date: str | None = None
    end_date: str | None = None
    timezone: str | int | None = None
    app_password: str | None = None
    moderator_password: str | None = None
    custom_attendee_field_1: str | None = None
    custom_attendee_field_2: str | None = None
    custom_attendee_field_3: str | None = None
    custom_attendee_field_4: str | None = None
    custom_attendee_field_5: str | None = None
    # The attendee status line's message per state (hub.domain.status); null leaves them, {}
    # or "" resets every state to its default.
    status_messages: dict[str, str | None] | Blank | None = None
    self_report_credit: bool | Blank | None = None  # do self-reported sessions earn credit
    certificate_title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    certificate_issuer: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    certificate_sponsor_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    certificate_signature: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AppSettingsOut(msgspec.Struct):
    app_password: str | None
    custom_attendee_field_1: str | None
    custom_attendee_field_2: str | None
    custom_attendee_field_3: str | None
    custom_attendee_field_4: str | None
    custom_attendee_field_5: str | None
    end_date: str | None
    moderator_password: str | None
    name: str | None
    start_date: str | None
    timezone: str | None
    url: str | None
    status_messages: dict[str, str] = msgspec.field(default_factory=dict)  # per state, in use
    self_report_credit: bool = True
    certificate_title: str | None = None
    certificate_issuer: str | None = None
    certificate_sponsor_id: str | None = None
    certificate_signature: str | None = None
    certificate_logo: bool = False  # a logo is set (PUT /app/certificate-logo)


class CountData(msgspec.Struct):
    count: int


class FileProblem(msgspec.Struct):
    """One problem in an uploaded spreadsheet: its row (the header is row 1) and column."""

    row: int
    column: str | None
    message: str


class ErrorEnvelope(msgspec.Struct):
    status: Literal["error"]
    code: str
    message: str
    reason: str | None = None
    field: str | None = None
    # Spreadsheet imports: every problem of the file (nothing was written).
    errors: list[FileProblem] | None = None


def ok_envelope_of(data_type: Any, name: str) -> Any:
    """A named envelope struct around ``data_type``, for the OpenAPI document."""
    return msgspec.defstruct(
        name,
        [("status", Literal["ok"]), ("code", str), ("data", data_type)],
    )


# --- sessions -----------------------------------------------------------------------------

INT32_MAX = 2**31 - 1
Text = Annotated[str, msgspec.Meta(max_length=1000)]
LongText = Annotated[str, msgspec.Meta(max_length=100_000)]
Count32 = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)]
DeliveryFormat = Literal["in-person", "virtual", "hybrid"]

MAX_FIELDS_OF_STUDY = 7
MAX_CODEWORDS = 50

_FIELD_OF_STUDY_DOC = (
    "Up to 7 fields of study, each a name and credits (a numeric string). Rollcall extension: "
    "`codewords`, a list of words attendees submit for this field; an entry without "
    "`codewords` keeps the codewords of the existing field of the same name. If omitted or "
    "null, no change is made. A poorly formatted list is not an error: the session's fields "
    "of study silently become empty, as the Conferences i/o reference documents."
)


class PresenterRefIn(msgspec.Struct, forbid_unknown_fields=False):
    """A presenter in a create/update request: found by id (then name and external_id are
    updated), else by external_id (created if none), else by name (created if none)."""

    id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    name: Text | None = None
    external_id: Text | None = None


class FieldOfStudyIn(msgspec.Struct):
    """Documentation of one fields_of_study entry (the list is read leniently)."""

    name: Text
    credits: Annotated[str, msgspec.Meta(max_length=32)]
    codewords: list[Text] | None = None


FieldsOfStudyIn = Annotated[
    Any,
    msgspec.Meta(
        description=_FIELD_OF_STUDY_DOC,
        extra_json_schema={
            "anyOf": [
                {
                    "type": "array",
                    "maxItems": MAX_FIELDS_OF_STUDY,
                    "items": msgspec.json.schema(FieldOfStudyIn)["$defs"]["FieldOfStudyIn"],
                },
                {"enum": [""]},
                {"type": "null"},
            ]
        },
    ),
]


# The documents show the preferred forms (format/pattern); the hub also parses the others the
# descriptions name. msgspec enforces only max_length here; hub.domain.dates does the rest.
Name = Annotated[str, msgspec.Meta(max_length=1000, extra_json_schema={"pattern": "\\S"},
                                   description="Required on create; cannot be unset.")]
DateText = Annotated[str, msgspec.Meta(
    max_length=100, extra_json_schema={"format": "date"},
    description='YYYY-MM-DD preferred; strings like "January 23, 2023" are also parsed.')]
TimeText = Annotated[str, msgspec.Meta(
    max_length=100,
    extra_json_schema={"pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"},
    description='Local event time, HH:MM preferred; "8pm" or "8:00PM" are also accepted.')]
HttpsUrl = Annotated[str, msgspec.Meta(
    max_length=2000, extra_json_schema={"pattern": "^https://[A-Za-z0-9.-]+(/[!-~]*)?$"},
    description="An https:// link for the attendee's \"Claim CE credit\" action.")]


class SessionIn(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """PUT /sessions/{id} (and the base of POST). null or omitted leaves a field; "" unsets it.
    ``id`` and ``url`` are read-only: accepted and ignored, so a GET can be sent back."""

    id: str | None = None
    url: str | None = None
    external_id: Text | None = None
    name: Name | None = None
    location: Text | None = None
    description: LongText | None = None
    date: DateText | Blank | None = None
    start_time: TimeText | Blank | None = None
    end_time: TimeText | Blank | None = None
    access_code: Text | None = None
    moderator_password: Text | None = None
    presenters: (
        Annotated[list[PresenterRefIn], msgspec.Meta(max_length=100)] | Blank | None
    ) = None
    fields_of_study: FieldsOfStudyIn = None
    learning_objectives: (
        Annotated[list[Text], msgspec.Meta(max_length=100)] | Blank | None
    ) = None
    checkin_required: bool | Blank | None = None
    checkout_required: bool | Blank | None = None
    checkin_code: Text | None = None
    checkout_code: Text | None = None
    delivery_format: DeliveryFormat | Blank | None = None
    # Rollcall's own fields.
    capacity: Count32 | Blank | None = None
    registrants_only: bool | Blank | None = None
    registration_levels: Annotated[list[Text], msgspec.Meta(max_length=100)] | Blank | None = None
    ce_minutes: Count32 | Blank | None = None
    rank: Int32 | Blank | None = None
    hidden: bool | Blank | None = None
    credit_url: HttpsUrl | Blank | None = None
    self_registration: bool | Blank | None = None
    # A session's times are in the event's zone (PUT /app); a zone sent here is checked (a tz
    # database name, or -1) and has no other effect.
    timezone: Annotated[str, msgspec.Meta(max_length=100)] | int | None = None


class SessionCreateIn(SessionIn, forbid_unknown_fields=False, kw_only=True):
    """POST /sessions: only ``name`` is required."""

    name: Name  # type: ignore[assignment]


class PresenterOut(msgspec.Struct):
    id: str
    external_id: str | None
    name: str


class FieldOfStudyOut(msgspec.Struct):
    name: str
    credits: str
    codewords: list[str]


class SessionOut(msgspec.Struct):
    id: str
    external_id: str | None
    name: str
    location: str | None
    description: str | None
    date: str | None
    start_time: str | None
    end_time: str | None
    access_code: str | None
    moderator_password: str | None
    checkin_code: str | None
    checkin_required: bool | None
    checkout_code: str | None
    checkout_required: bool | None
    delivery_format: str | None
    url: str
    presenters: list[PresenterOut] | None
    fields_of_study: list[FieldOfStudyOut] | None
    learning_objectives: list[str] | None
    capacity: int | None
    registrants_only: bool | None
    registration_levels: list[str] | None
    ce_minutes: int | None
    rank: int | None
    hidden: bool | None
    credit_url: str | None
    self_registration: bool | None = None


class SessionListData(msgspec.Struct):
    count: int
    data: list[SessionOut]


class SessionCreated(msgspec.Struct):
    object: Literal["session"]
    id: str
    url: str


# --- polls, Q&A, evaluations ----------------------------------------------------------------


class PollResponseOut(msgspec.Struct):
    id: str
    response: str
    user_id: str | None
    external_id: str | None
    created: str


class PollData(msgspec.Struct):
    created: str | None
    name: str
    rank: int | None
    type: str
    choices: list[str]
    responses: list[PollResponseOut] | None


class QuestionOut(msgspec.Struct):
    id: str
    question: str
    upvotes: int
    answered: bool
    user_id: str | None
    external_id: str | None
    created: str


class SessionQAData(msgspec.Struct):
    polls: dict[str, PollData]
    questions: list[QuestionOut]


class EvaluationSession(msgspec.Struct):
    name: str
    external_id: str | None


class EvaluationUser(msgspec.Struct):
    id: str
    external_id: str | None
    first_name: str | None
    last_name: str | None
    field_1: str | None
    field_2: str | None
    field_3: str | None
    field_4: str | None
    field_5: str | None


class EvaluationResponse(msgspec.Struct):
    session: EvaluationSession
    user: EvaluationUser
    presenter: PresenterOut | None
    question: str
    response: str
    response_value: int | float | None
    timestamp: str


class EvaluationResponseListData(msgspec.Struct):
    count: int
    responses: list[EvaluationResponse]


def put_value(value: Any) -> tuple[bool, Any]:
    """PUT semantics: (False, _) leaves the field; (True, None) unsets; (True, v) sets."""
    if value is None:
        return False, None
    if value == "" and not isinstance(value, bool):
        return True, None
    return True, value
