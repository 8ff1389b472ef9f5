"""/_sandbox/*: health, inspection and control of a running sandbox."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .. import __version__, problems
from ..engine import Sandbox
from ..events import timestamp

bp = Blueprint("admin", __name__, url_prefix="/_sandbox")


def sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        raise problems.invalid_json("The request body is not valid JSON.")
    if body is not None and not isinstance(body, dict):
        raise problems.invalid_json("The request body must be a JSON object.")
    return body or {}


@bp.get("/health")
def health() -> Response:
    engine = sandbox()
    return jsonify(
        status="ok",
        version=__version__,
        spec_version=engine.spec.version,
        uptime_seconds=round(time.time() - engine.started_at, 3),
    )


@bp.get("/clock")
def clock() -> Response:
    return jsonify(clock_state(sandbox()))


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """Manual clock: move it forward and answer once every event due by then went out."""
    engine = sandbox()
    seconds = json_body().get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise problems.gateway(
            400, "invalid-clock", "Invalid clock request", 'Give {"seconds": N} with N >= 0.'
        )
    if not engine.clock.manual:
        raise problems.gateway(
            409,
            "clock-not-manual",
            "The clock is not manual",
            "This sandbox runs on the real clock; start it with --clock manual to move time.",
        )
    engine.dispatcher.advance(float(seconds))
    return jsonify(clock_state(engine))


def clock_state(engine: Sandbox) -> dict[str, Any]:
    return {
        "clock": "manual" if engine.clock.manual else "real",
        "speed": engine.clock.speed,
        "now": timestamp(engine.clock.now()),
    }
