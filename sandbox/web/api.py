"""POST /v0.1/messages: parse the HTTP request, call the engine, render its answer."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Request, Response, current_app, g, request

from .. import problems
from ..engine import SCENARIO_HEADER, Answer, Sandbox

bp = Blueprint("api", __name__)
log = logging.getLogger("sandbox.web")

QUERY_CREDENTIALS = ("api_key", "api_secret")


def sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


@bp.post("/v0.1/messages")
def send_message() -> Response:
    engine = sandbox()
    principal = engine.authenticate(
        request.headers.get("Authorization"),
        query_credentials=any(k in request.args for k in QUERY_CREDENTIALS),
    )
    body = parse_json_body(request, engine.settings.max_body)
    scenario = request.headers.get(SCENARIO_HEADER)
    return render_answer(engine.send(body, principal, trace_id=g.trace_id, scenario=scenario))


def render_answer(answer: Answer) -> Response:
    if answer.delay > 0:
        delay(answer.delay)
    response = Response(
        json.dumps(answer.body, separators=(",", ":")),
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


def parse_json_body(req: Request, limit: int) -> Any:
    """The decoded JSON body, or a Problem: 415 wrong type, 413 too big, 400 not JSON."""
    if req.mimetype != "application/json":
        raise problems.unsupported_media_type(req.headers.get("Content-Type"))
    if req.content_length is not None and req.content_length > limit:
        raise problems.payload_too_large(req.content_length, limit)
    raw = req.stream.read(limit + 1)
    if len(raw) > limit:
        raise problems.payload_too_large(None, limit)
    return decode_json(raw)


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def decode_json(raw: bytes) -> Any:
    if not raw.strip():
        raise problems.invalid_json("The request body is empty; expected a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problems.invalid_json(
            f"The request body is not valid UTF-8 (byte {exc.start})."
        ) from None
    try:
        return json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise problems.invalid_json(
            f"The request body is not valid JSON: {exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}."
        ) from None
    except ValueError as exc:
        raise problems.invalid_json(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise problems.invalid_json("The request body is nested too deeply.") from None
