"""The OpenAPI document, generated from the msgspec schemas the handlers use.

Each handler registers itself with ``@operation(...)``: the one decorator gives both its route
(``hub.api.routes``) and its OpenAPI operation, naming its request and response structs.
``/api/v2/openapi.json`` is built from that registry with ``msgspec.json.schema_components``,
never written by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.domain.schemas import ErrorEnvelope
from hub.envelope import NOSNIFF
from hub.state import hub_of

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # under /api/v2, with {params}
    summary: str
    tag: str
    request: Any = None  # a msgspec type for the JSON body, or None
    response: Any = None  # the type of ``data`` in the ok envelope; None means null
    status: int = 200
    errors: tuple[int, ...] = (400, 401, 404, 422)
    query: tuple[tuple[str, Any, str], ...] = ()  # (name, type, description)
    no_body: bool = False  # e.g. 204
    public: bool = False  # needs no API key
    uploads: tuple[str, ...] = ()  # the body is a file of these media types (or a form)
    downloads: tuple[str, ...] = ()  # the answer is a file of these media types
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # OpenAPI links from the success answer: (operationId, {parameter: runtime expression}),
    # e.g. ("get_sessions_session_id", {"session_id": "$response.body#/data/id"}).
    links: tuple[tuple[str, dict[str, str]], ...] = ()
    endpoint: Callable[[Request], Awaitable[Response]] | None = None


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, *, summary: str, tag: str, **kw: Any) -> Callable[[F], F]:
    """Register a handler: its route under /api/v2 and its contract for the OpenAPI document."""

    def deco(fn: F) -> F:
        OPERATIONS.append(Operation(method=method.upper(), path=path, summary=summary, tag=tag,
                                    endpoint=fn, **kw))
        return fn

    return deco


def _op_id(op: Operation) -> str:
    slug = op.path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return f"{op.method.lower()}_{slug}"


def _envelope_name(op: Operation) -> str:
    return "".join(p.capitalize() for p in _op_id(op).split("_")) + "Response"


def openapi_document(server_url: str) -> dict[str, Any]:
    """The whole API's OpenAPI 3.1 document, from the registered operations (its schemas are
    JSON Schema 2020-12, as msgspec writes them)."""
    envelopes: dict[int, Any] = {}
    schemas_in: list[Any] = [ErrorEnvelope]
    for i, op in enumerate(OPERATIONS):
        if op.request is not None:
            schemas_in.append(op.request)
        if not op.no_body and not op.downloads:
            data_t = op.response if op.response is not None else None
            env = msgspec.defstruct(
                _envelope_name(op),
                [("status", Literal["ok"]), ("code", str), ("data", data_t)],
            )
            envelopes[i] = env
            schemas_in.append(env)
    out_schemas, components = msgspec.json.schema_components(
        schemas_in, ref_template="#/components/schemas/{name}"
    )
    schema_of = {id(t): s for t, s in zip(schemas_in, out_schemas, strict=True)}
    error_schema = schema_of[id(ErrorEnvelope)]
    paths: dict[str, dict[str, Any]] = {}
    for i, op in enumerate(OPERATIONS):
        item: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": _op_id(op),
            "security": [] if op.public else [{"ApiKeyHeader": []}],
            "responses": {},
        }
        if op.description:
            item["description"] = op.description
        params: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        for name, typ, desc in op.query:
            params.append({"name": name, "in": "query", "required": False,
                           "schema": msgspec.json.schema(typ), "description": desc})
        if params:
            item["parameters"] = params
        if op.request is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_of[id(op.request)]}},
            }
        if op.uploads:
            item["requestBody"] = _upload_body(op.uploads)
        if op.downloads:
            item["responses"][str(op.status)] = {
                "description": "The file.",
                "content": {t: {"schema": {"type": "string", "format": "binary"}}
                            for t in op.downloads},
            }
        elif op.no_body:
            item["responses"][str(op.status)] = {"description": "No content."}
        else:
            item["responses"][str(op.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": schema_of[id(envelopes[i])]}},
            }
        if op.links:
            item["responses"][str(op.status)]["links"] = _links(op.links)
        for code in op.errors:
            item["responses"][str(code)] = {
                "description": "Error envelope.",
                "content": {"application/json": {"schema": error_schema}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rollcall REST API v2 (Conferences i/o compatible)", "version": "2"},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "API-Key"}
            },
        },
    }


def _links(links: tuple[tuple[str, dict[str, str]], ...]) -> dict[str, Any]:
    """OpenAPI links, named after their target: what a client may call next with this answer."""
    known = {_op_id(op) for op in OPERATIONS}
    out: dict[str, Any] = {}
    for target, parameters in links:
        if target not in known:
            raise RuntimeError(f"link to unknown operation {target!r}")
        name = "".join(p.capitalize() for p in target.replace("-", "_").split("_"))
        out[name] = {"operationId": target, "parameters": dict(parameters)}
    return out


def _upload_body(media_types: tuple[str, ...]) -> dict[str, Any]:
    """A file sent as the body (one of ``media_types``) or as the form field ``file``."""
    content: dict[str, Any] = {t: {"schema": {"type": "string", "format": "binary"}}
                               for t in media_types}
    content["multipart/form-data"] = {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}
    return {"required": True, "content": content}


def _path_params(path: str) -> list[str]:
    out, i = [], 0
    while (start := path.find("{", i)) != -1:
        end = path.index("}", start)
        out.append(path[start + 1 : end].split(":")[0])
        i = end + 1
    return out


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi_document(hub_of(request).url("/api/v2")), headers=NOSNIFF)
