"""Messages API v1: POST /v1/messages and PATCH /v1/messages/<uuid>. Parse, call, render.

Authentication, body limits and JSON decoding are v0.1's; what differs (422 errors of the
v1 document, ``X-Request-Id`` on every answer) comes from the v1 adapter.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, g, request

from ..engine import SCENARIO_HEADER
from ..engine_v1 import V1Api
from ..json_body import read_json_body
from ..problems import Problem
from .api import QUERY_CREDENTIALS, render_answer, sandbox

bp = Blueprint("v1", __name__)

REQUEST_ID_HEADER = "X-Request-Id"
V1_PREFIX = "/v1/"


def v1() -> V1Api:
    return current_app.extensions["sandbox.v1"]


@bp.post("/v1/messages")
def send_message() -> Response:
    principal = authenticate()
    body = v1_json_body()
    scenario = request.headers.get(SCENARIO_HEADER)
    return render_answer(v1().send(body, principal, trace_id=g.trace_id, scenario=scenario))


@bp.patch("/v1/messages/<message_uuid>")
def update_message(message_uuid: str) -> Response:
    authenticate()
    v1().update(message_uuid, v1_json_body())
    return Response(status=202)


def authenticate():  # noqa: ANN201 - a Principal
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
