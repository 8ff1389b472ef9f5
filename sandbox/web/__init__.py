"""create_app(settings) -> the Flask application, with the engine in app.extensions."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, request

from ..config import Settings
from ..engine import Sandbox
from . import admin, api, ui, v1
from .budget import Budget
from .errors import register_error_handlers

access_log = logging.getLogger("sandbox.access")

TRACE_HEADER = "X-Nexmo-Trace-Id"


def create_app(
    settings: Settings | None = None, sandbox: Sandbox | None = None, tls_cert: str | None = None
) -> Flask:
    """A new application around a started ``sandbox`` (or a new one, started here);
    ``tls_cert`` is the certificate file the server listens with, served to clients."""
    sandbox = sandbox or Sandbox(settings or Settings()).start()
    app = Flask("sandbox")
    app.extensions["sandbox"] = sandbox
    app.extensions["budgets"] = {
        "waits": Budget(sandbox.settings.max_waits),
        "delays": Budget(sandbox.settings.max_delayed),
    }
    app.extensions["tls_cert"] = tls_cert
    app.json.sort_keys = False
    app.register_blueprint(api.bp)
    app.register_blueprint(v1.bp)
    app.register_blueprint(admin.bp)
    ui.register(app)
    register_error_handlers(app)
    app.before_request(start_request)
    app.after_request(finish_request)
    return app


def start_request() -> None:
    g.trace_id = os.urandom(16).hex()
    g.started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """Trace header on every answer, and one access-log line per request."""
    response.headers[TRACE_HEADER] = g.get("trace_id", "")
    if access_log.isEnabledFor(logging.INFO):
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access_log.info(
            '%s "%s %s" %s %.1fms trace=%s',
            request.remote_addr,
            request.method,
            request.full_path.rstrip("?") if request.query_string else request.path,
            response.status_code,
            elapsed,
            g.get("trace_id", ""),
        )
    return response
