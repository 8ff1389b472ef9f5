"""POST /v0.1/messages: parse the HTTP request, call the engine, render its answer."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, g, request

from ..engine import SCENARIO_HEADER, Answer, Sandbox
from ..json_body import read_json_body
from ..jsontext import compact_json

bp = Blueprint("api", __name__)
log = logging.getLogger("sandbox.web")

QUERY_CREDENTIALS = ("api_key", "api_secret")
API_VERSION = "v0.1"  # this route's request shape (sandbox/versions/v0_1.py)


def sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


@bp.post("/v0.1/messages")
def send_message() -> Response:
    engine = sandbox()
    principal = engine.authenticate(
        request.headers.get("Authorization"),
        query_credentials=any(k in request.args for k in QUERY_CREDENTIALS),
    )
    body = read_json_body(request, engine.settings.max_body)
    message = engine.parsers[API_VERSION].parse(body)
    scenario = request.headers.get(SCENARIO_HEADER)
    return render_answer(engine.send(message, principal, trace_id=g.trace_id, scenario=scenario))


def render_answer(answer: Answer) -> Response:
    if answer.delay > 0:
        delay(answer.delay)
    response = Response(
        compact_json(answer.body),
        status=answer.status,
        mimetype=answer.media_type,
    )
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def delay(seconds: float) -> None:
    """Scripted latency, within its budget (--max-delayed): past it, the answer is not
    delayed rather than taking a thread that answers other sends."""
    with current_app.extensions["budgets"]["delays"].slot() as admitted:
        if admitted:
            time.sleep(seconds)
        else:
            log.warning("scripted latency skipped: --max-delayed answers are already held")
