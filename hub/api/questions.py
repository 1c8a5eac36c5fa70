"""/api/v2/sessions/{id}/questions: Q&A. Attendees ask and upvote; moderators approve, hide,
star and mark answered. Thin handlers; the rules are in ``hub.services.questions``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.engagement import QuestionLive
from hub.envelope import ok
from hub.errors import NotFound
from hub.http import read_json
from hub.services import questions
from hub.state import caller


def _qid(request: Request) -> int:
    raw = request.path_params["question_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise NotFound(f"No question {raw!r} in this session.")
    return int(raw)


@operation("GET", "/sessions/{session_id}/questions", summary="List a session's questions",
           tag="Q&A", response=questions.QuestionList, errors=(401, 404),
           description="Most upvotes first, then oldest first. Moderators and staff see every "
                       "question (pending approval and hidden ones too); attendees see the "
                       "approved ones that are not hidden.")
async def list_questions(request: Request) -> Response:
    hub, principal = await caller(request, None)
    return ok(await questions.list_questions(hub, principal, request.path_params["session_id"]))


@operation("POST", "/sessions/{session_id}/questions", summary="Ask a question", tag="Q&A",
           request=questions.AskIn, response=QuestionLive, status=201,
           errors=(400, 401, 403, 404, 422, 429),
           description="3-500 characters; at most 3 questions a minute per attendee (429 "
                       "question_limit). Waits for a moderator's approval when the session "
                       "(or the event) asks for it. The signed-in attendee asks for themself; "
                       "an API key names the attendee.")
async def ask(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, questions.AskIn)
    return ok(await questions.ask(hub, principal, request.path_params["session_id"], body),
              status=201)


@operation("POST", "/sessions/{session_id}/questions/{question_id}/upvote",
           summary="Upvote a question", tag="Q&A", request=questions.VoteIn,
           response=questions.Voted, errors=(400, 401, 403, 404, 422),
           description="Once per attendee per question: a second upvote changes nothing "
                       "(counted: false).")
async def upvote(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, questions.VoteIn)
    return ok(await questions.upvote(hub, principal, request.path_params["session_id"],
                                     _qid(request), body))


@operation("PUT", "/sessions/{session_id}/questions/{question_id}",
           summary="Moderate a question", tag="Q&A", request=questions.ModerateIn,
           response=QuestionLive, errors=(400, 401, 403, 404, 422),
           description="approved, hidden, starred (one at a time: the presenter screen shows "
                       "it), answered. Moderators: API keys, staff with moderate.")
async def moderate(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, questions.ModerateIn)
    return ok(await questions.moderate(hub, principal, request.path_params["session_id"],
                                       _qid(request), body))


@operation("PUT", "/sessions/{session_id}/qa-settings", summary="A session's Q&A settings",
           tag="Q&A", request=questions.QASettings, response=questions.QASettings,
           errors=(400, 401, 403, 404, 422),
           description="approval: questions wait for a moderator (null: as the event says).")
async def put_session_settings(request: Request) -> Response:
    hub, principal = await caller(request)
    body = await read_json(request, questions.QASettings)
    return ok(await questions.put_settings(hub, principal, request.path_params["session_id"],
                                           body))


@operation("PUT", "/app/qa-settings", summary="The event's Q&A settings", tag="Q&A",
           request=questions.QASettings, response=questions.QASettings,
           errors=(400, 401, 403, 422),
           description="approval: every session's questions wait for a moderator unless the "
                       "session says otherwise.")
async def put_app_settings(request: Request) -> Response:
    hub, principal = await caller(request)
    body = await read_json(request, questions.QASettings)
    return ok(await questions.put_settings(hub, principal, None, body))
