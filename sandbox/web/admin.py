"""/_sandbox/*: health, inspection and control of a running sandbox."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify

from .. import __version__

bp = Blueprint("admin", __name__, url_prefix="/_sandbox")


@bp.get("/health")
def health() -> Response:
    engine = current_app.extensions["sandbox"]
    return jsonify(
        status="ok",
        version=__version__,
        spec_version=engine.spec.version,
        uptime_seconds=round(time.time() - engine.started_at, 3),
    )
