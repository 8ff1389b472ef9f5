"""Errors at the edge: every failure becomes the spec's Error shape, never a crash.

One table maps what Flask/werkzeug raise to our Problems; anything unexpected is logged
with its trace id and answered 500 in the same shape, and the server keeps serving.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import problems
from ..problems import Problem

log = logging.getLogger("sandbox.web")

PROBLEM_JSON = "application/problem+json"


def render_problem(problem: Problem) -> Response:
    body = problem.to_json(g.get("trace_id", ""))
    response = Response(body, status=problem.status, mimetype=problem.media_type)
    for name, value in problem.headers:
        response.headers[name] = value
    return response


def problem_from_http(error: HTTPException) -> Problem:
    """The Problem for an HTTP error werkzeug raised (routing, method, size…)."""
    if isinstance(error, NotFound):
        return problems.not_found(request.path)
    if isinstance(error, MethodNotAllowed):
        allowed = [m for m in (error.valid_methods or []) if m not in ("HEAD", "OPTIONS")]
        return problems.wrong_verb(request.method, request.path, allowed)
    if isinstance(error, RequestEntityTooLarge):
        return problems.payload_too_large(request.content_length, request.max_content_length or 0)
    code = error.code or 500
    return problems.gateway(code, str(code), error.name, error.description or error.name)


def handle_unexpected(error: Exception) -> Response:
    log.exception(
        "internal error (trace %s) on %s %s", g.get("trace_id"), request.method, request.path
    )
    return render_problem(problems.internal_error())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Problem, render_problem)
    app.register_error_handler(HTTPException, lambda e: render_problem(problem_from_http(e)))
    app.register_error_handler(Exception, handle_unexpected)
