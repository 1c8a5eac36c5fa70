"""/api/v2/sessions/{id}/polls: polls for integrators and the dashboard (create, list, edit,
open, close, delete) and attendees' answers. Thin handlers; the rules are in
``hub.services.polls``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.engagement import PollLive
from hub.envelope import ok
from hub.http import read_json
from hub.services import polls
from hub.state import caller, hub_of

_WHO = ("Moderators: API keys, staff with the moderate permission. Changes reach the "
        "session's live views at once (`polls` frames, docs/realtime.md).")


@operation("GET", "/sessions/{session_id}/polls", summary="List a session's polls",
           tag="Polls", response=polls.PollList, errors=(401, 403, 404),
           description="In rank order, each with its `state` (draft, open, closed) and "
                       "`results` (total, counts per choice, average for ratings, the newest "
                       "texts for open_text). An attendee sees the open polls and those whose "
                       "results were revealed, results only when revealed.")
async def list_polls(request: Request) -> Response:
    hub, principal = await caller(request, None)
    return ok(await polls.list_polls(hub, principal, request.path_params["session_id"]))


@operation("POST", "/sessions/{session_id}/polls", summary="Create a poll", tag="Polls",
           request=polls.PollIn, response=PollLive, status=201, errors=(400, 401, 403, 404, 422),
           description="Types: multiple_choice (one answer), multiple_select, rating (1-5) "
                       "and open_text; choices (2-20) for the first two. A new poll is a "
                       "draft until opened. " + _WHO)
async def create_poll(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, polls.PollIn)
    return ok(await polls.create_poll(hub, principal, request.path_params["session_id"], body),
              status=201)


@operation("PUT", "/sessions/{session_id}/polls/{poll_id}", summary="Edit a poll",
           tag="Polls", request=polls.PollUpdate, response=PollLive,
           errors=(400, 401, 403, 404, 409, 422),
           description="Only the fields sent change; `revealed: true` shows the results to "
                       "attendees. Type and choices stay once someone answered (409). " + _WHO)
async def update_poll(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, polls.PollUpdate)
    p = request.path_params
    return ok(await polls.update_poll(hub, principal, p["session_id"], p["poll_id"], body))


@operation("DELETE", "/sessions/{session_id}/polls/{poll_id}", summary="Delete a poll",
           tag="Polls", status=204, no_body=True, errors=(401, 403, 404), description=_WHO)
async def delete_poll(request: Request) -> Response:
    hub, principal = await caller(request, None)
    p = request.path_params
    await polls.delete_poll(hub, principal, p["session_id"], p["poll_id"])
    return Response(status_code=204)


@operation("POST", "/sessions/{session_id}/polls/{poll_id}/open", summary="Open a poll",
           tag="Polls", response=PollLive, errors=(401, 403, 404),
           description="Attendees may answer from now on. " + _WHO)
async def open_poll(request: Request) -> Response:
    hub, principal = await caller(request, None)
    p = request.path_params
    return ok(await polls.set_state(hub, principal, p["session_id"], p["poll_id"], "open"))


@operation("POST", "/sessions/{session_id}/polls/{poll_id}/close", summary="Close a poll",
           tag="Polls", response=PollLive, errors=(401, 403, 404),
           description="Answers are refused from now on (409 poll_closed); results stay. "
                       + _WHO)
async def close_poll(request: Request) -> Response:
    hub, principal = await caller(request, None)
    p = request.path_params
    return ok(await polls.set_state(hub, principal, p["session_id"], p["poll_id"], "closed"))


@operation("POST", "/sessions/{session_id}/polls/{poll_id}/responses",
           summary="Answer a poll", tag="Polls", request=polls.AnswerIn,
           response=polls.AnswerOut, errors=(400, 401, 403, 404, 409, 422),
           description="One answer per attendee per poll: answering again replaces the "
                       "earlier answer while the poll is open; a poll that is not open "
                       "refuses with 409 poll_closed. The signed-in attendee (cookie) answers "
                       "for themself; an API key names the attendee by external_id, email or "
                       "badge_id. The answer is stored when acknowledged.")
async def answer(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)  # an API key's principal is cached
    body = await read_json(request, polls.AnswerIn)
    p = request.path_params
    return ok(await polls.answer(hub, principal, p["session_id"], p["poll_id"], body))
