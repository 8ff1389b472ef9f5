"""Messages API v1: POST /v1/messages and PATCH /v1/messages/<uuid>. Parse, call, render.

Authentication, body limits and JSON decoding are v0.1's; what differs (422 errors of the
v1 document, ``X-Request-Id`` on every answer) comes from the v1 adapter.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, g, request

from ..auth import Principal
from ..engine import SCENARIO_HEADER
from ..json_body import read_json_body
from ..problems import Problem
from ..versions.v1 import VERSION, V1Parser
from .api import QUERY_CREDENTIALS, render_answer, sandbox

bp = Blueprint("v1", __name__)

REQUEST_ID_HEADER = "X-Request-Id"
V1_PREFIX = "/v1/"


def v1() -> V1Parser:
    return sandbox().parsers[VERSION]  # type: ignore[return-value]


@bp.post("/v1/messages")
def send_message() -> Response:
    principal = authenticate()
    message = v1().parse(v1_json_body())
    scenario = request.headers.get(SCENARIO_HEADER)
    return render_answer(sandbox().send(message, principal, g.trace_id, scenario))


@bp.patch("/v1/messages/<message_uuid>")
def update_message(message_uuid: str) -> Response:
    principal = authenticate()
    sandbox().update(message_uuid, v1_json_body(), VERSION, principal)
    return Response(status=202)


def authenticate() -> Principal:
    return sandbox().authenticate(
        request.headers.get("Authorization"),
        query_credentials=any(k in request.args for k in QUERY_CREDENTIALS),
    )


def v1_json_body() -> object:
    """The decoded body; bad JSON is v1's 422 invalid-json, not v0.1's 400."""
    try:
        return read_json_body(request, sandbox().settings.max_body)
    except Problem as problem:
        raise v1().errors.translate(problem) from None


@bp.after_app_request
def add_request_id(response: Response) -> Response:
    """Every answer under /v1/ (errors included) carries X-Request-Id: the trace id as a uuid."""
    if request.path.startswith(V1_PREFIX):
        response.headers[REQUEST_ID_HEADER] = str(uuid.UUID(hex=g.get("trace_id") or "0" * 32))
    return response
