"""/_sandbox/*: inspection and control of a running sandbox (described by /_sandbox/openapi.yaml).

Thin: parse, call the engine or its inspector, render. Admin calls are never journaled as
API traffic. With ``--admin-token`` every call but health, the certificate and the webhook
sink needs the token (web/guard.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .. import problems
from ..config import ConfigError
from ..engine import Sandbox
from ..events import timestamp
from ..inspection import MESSAGE_FILTERS, WEBHOOK_FILTERS, parse_query
from ..json_body import read_json_body
from ..problems import InvalidParameter, invalid_params
from ..version import __version__
from ..webhook_urls import webhook_url_error
from . import guard

bp = Blueprint("admin", __name__, url_prefix="/_sandbox")
ADMIN_DOCUMENT = Path(__file__).resolve().parent.parent / "admin-openapi.yaml"
OPEN_ENDPOINTS = {"admin.health", "admin.sink", "admin.tls_cert"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_ADVANCE = 10 * 365 * 86_400  # ten years a call: timestamps stay printable


def sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


@bp.before_request
def check_admin_token() -> None:
    if request.endpoint not in OPEN_ENDPOINTS:
        guard.require_admin()


@bp.before_request
def refuse_cross_site_writes() -> None:
    """A web page open in the developer's browser must not drive the admin API."""
    if request.method in SAFE_METHODS or request.endpoint in OPEN_ENDPOINTS:
        return
    reason = guard.cross_site_reason(request.headers)
    if reason:
        raise problems.cross_site(f"Admin writes are refused from other web sites: {reason}.")


def json_body() -> dict[str, Any]:
    """The request's JSON object (empty if no body): 415 unless declared JSON, 400 if bad."""
    body = read_json_body(request, sandbox().settings.max_body, optional=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise problems.invalid_json("The request body must be a JSON object.")
    return body


def check_webhook_urls(fields: dict[str, str | None]) -> None:
    """A 400 naming every URL that webhooks may not go to ("" and null mean none)."""
    wrong = [
        InvalidParameter(name, reason)
        for name, url in fields.items()
        if url and (reason := webhook_url_error(url))
    ]
    if wrong:
        raise invalid_params(wrong)


def optional_strings(body: dict[str, Any], *names: str) -> dict[str, str | None]:
    """The named fields, each a string or null; a 400 naming every one that is not."""
    wrong = [
        InvalidParameter(n, "must be a string or null")
        for n in names
        if body.get(n) is not None and not isinstance(body.get(n), str)
    ]
    if wrong:
        raise invalid_params(wrong)
    return {name: body.get(name) for name in names}


# health, the document, the sink --------------------------------------------------------


@bp.get("/health")
def health() -> Response:
    engine = sandbox()
    return jsonify(
        status="ok",
        version=__version__,
        spec_version=engine.spec.version,
        uptime_seconds=round(time.time() - engine.started_at, 3),
    )


@bp.get("/openapi.yaml")
def openapi() -> Response:
    text = ADMIN_DOCUMENT.read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")


@bp.get("/tls/cert.pem")
def tls_cert() -> Response:
    """The certificate the sandbox serves HTTPS with, for clients to trust (404 without TLS)."""
    path = current_app.extensions.get("tls_cert")
    if not path:
        raise problems.gateway(
            404, "not-found", "Not Found", "This sandbox serves plain HTTP (start it with --tls)."
        )
    return Response(Path(path).read_bytes(), mimetype="application/x-pem-file")


@bp.post("/sink/<path:name>")
def sink(name: str) -> Response:
    """A webhook receiver that accepts everything (the pytest plugin points webhooks here)."""
    return Response(status=204)


# messages and webhooks -----------------------------------------------------------------


@bp.get("/messages")
def list_messages() -> Response:
    return jsonify(sandbox().inspector.messages(parse_query(request.args, MESSAGE_FILTERS)))


@bp.get("/messages/<message_uuid>")
def get_message(message_uuid: str) -> Response:
    detail = sandbox().inspector.message(message_uuid)
    if detail is None:
        raise problems.gateway(
            404, "not-found", "Not Found", f"There is no message {message_uuid} in the journal."
        )
    return jsonify(detail)


@bp.get("/webhooks")
def list_webhooks() -> Response:
    return jsonify(sandbox().inspector.webhooks(parse_query(request.args, WEBHOOK_FILTERS)))


@bp.post("/webhooks/<event_id>/retry")
def retry_webhook(event_id: str) -> Response:
    """A failing webhook's next attempt moves to now (202), else 404 / 409."""
    json_body()
    return webhook_action(event_id, sandbox().dispatcher.retry_now)


@bp.post("/webhooks/<event_id>/resend")
def resend_webhook(event_id: str) -> Response:
    """A delivered or given-up webhook is POSTed again, same body (202), else 404 / 409."""
    json_body()
    return webhook_action(event_id, sandbox().dispatcher.resend)


def webhook_action(raw_id: str, action: Any) -> Response:
    """202 with the webhook as it stands, or the refusal in the admin error shape."""
    if not raw_id.isdigit():
        raise problems.gateway(404, "not-found", "Not Found", f"There is no webhook {raw_id}.")
    event_id = int(raw_id)
    refusal = action(event_id)
    if refusal is not None:
        status = 404 if refusal.error_id == "not-found" else 409
        title = "Not Found" if status == 404 else "Wrong state"
        raise problems.gateway(status, refusal.error_id, title, refusal.detail)
    return jsonify(sandbox().inspector.webhook(event_id)), 202


@bp.get("/wait")
def wait() -> Response:
    """Long-poll: 200 with the first match, or 408 (Error shape) with what did arrive."""
    kind = request.args.get("for", "webhook")
    if kind not in ("webhook", "message"):
        raise invalid_params([InvalidParameter("for", f"must be webhook or message; got {kind!r}")])
    filters = WEBHOOK_FILTERS if kind == "webhook" else MESSAGE_FILTERS
    query = parse_query(request.args, filters)
    timeout = wait_timeout(request.args.get("timeout", "10"))
    with current_app.extensions["budgets"]["waits"].slot() as admitted:
        if not admitted:
            raise too_many_waits()
        matched, arrived = sandbox().inspector.wait(kind, query, timeout)
    if matched is not None:
        return jsonify(matched)
    raise problems.gateway(
        408,
        "wait-timeout",
        "Nothing matched in time",
        f"No {kind} matched {dict(request.args)} within {timeout:g} s; 'arrived' shows what did.",
        extra={"arrived": arrived},
    )


def too_many_waits() -> problems.Problem:
    """503 at once when every long-poll slot is taken: waiting for one would hold a thread."""
    cap = sandbox().settings.max_waits
    return problems.gateway(
        503,
        "too-many-waits",
        "Too many waits",
        f"{cap} long-polls are already waiting (--max-waits {cap}); try again shortly.",
        headers=(("Retry-After", "1"),),
    )


@bp.get("/workflows/<workflow_id>")
def get_workflow(workflow_id: str) -> Response:
    """A failover workflow as one unit; ``?wait=S`` long-polls until it has ended (else 408)."""
    inspector = sandbox().inspector
    found = inspector.workflow(workflow_id)
    if found is None:
        raise problems.gateway(
            404, "not-found", "Not Found", f"There is no workflow {workflow_id}."
        )
    if "wait" not in request.args or found["ended_by"]:
        return jsonify(found)
    timeout = wait_timeout(request.args["wait"], "wait")
    ended = inspector.wait_workflow(workflow_id, timeout)
    if ended is not None:
        return jsonify(ended)
    raise problems.gateway(
        408,
        "wait-timeout",
        "Nothing matched in time",
        f"Workflow {workflow_id} had not ended within {timeout:g} s; 'arrived' shows it.",
        extra={"arrived": [inspector.workflow(workflow_id)]},
    )


def wait_timeout(raw: str, name: str = "timeout") -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 60:
        raise invalid_params([InvalidParameter(name, f"must be 0 to 60 seconds; got {raw!r}")])
    return value


# control -------------------------------------------------------------------------------


@bp.post("/inbound")
def inject_inbound() -> Response:
    """A customer's message to the business, delivered to the inbound webhook now."""
    body = json_body()
    scope = optional_strings(body, "application_id", "api_key")
    message_uuid = sandbox().inbound(
        body.get("channel"),
        body.get("from"),
        body.get("to"),
        body.get("content"),
        **scope,
        webhook_version=body.get("webhook_version"),
    )
    return jsonify(message_uuid=message_uuid), 201


@bp.post("/reset")
def reset() -> Response:
    scope = optional_strings(json_body(), "api_key", "application_id")
    deleted = sandbox().reset(scope["api_key"], scope["application_id"])
    return jsonify(deleted_messages=deleted)


@bp.get("/applications")
def list_applications() -> Response:
    engine = sandbox()
    defaults = engine.default_urls()
    return jsonify(
        applications=[application_item(a) for a in engine.applications.values()],
        defaults={"status_url": defaults.status_url, "inbound_url": defaults.inbound_url},
    )


def application_item(app: Any) -> dict[str, Any]:
    return {
        "application_id": app.application_id,
        "status_url": app.status_url,
        "inbound_url": app.inbound_url,
        "public_key": app.public_key,
        "webhook_version": app.webhook_version,
    }


@bp.put("/applications/<application_id>")
def put_application(application_id: str) -> Response:
    fields = optional_strings(
        json_body(), "status_url", "inbound_url", "public_key", "webhook_version"
    )
    check_webhook_urls({"status_url": fields["status_url"], "inbound_url": fields["inbound_url"]})
    try:
        app = sandbox().set_application(application_id, **fields)
    except ConfigError as exc:
        raise invalid_params([InvalidParameter("public_key", str(exc))]) from None
    return jsonify(application_item(app))


@bp.put("/defaults")
def put_defaults() -> Response:
    """The default webhook URLs, or (with api_key / application_id) one scope's own."""
    body = json_body()
    urls = optional_strings(body, "status_url", "inbound_url")
    check_webhook_urls(urls)
    key = scope_name(optional_strings(body, "api_key", "application_id"))
    sandbox().set_default_urls(urls["status_url"], urls["inbound_url"], key)
    return jsonify(urls if not key else {**urls, "scope": key})


@bp.get("/defaults")
def get_defaults() -> Response:
    """The webhook URLs a scope's messages fall back to (?scope=NAME; none: the defaults)."""
    urls = sandbox().default_urls(request.args.get("scope", ""))
    return jsonify(status_url=urls.status_url, inbound_url=urls.inbound_url)


def scope_name(scope: dict[str, str | None]) -> str:
    """The name a scope's settings are kept under: its application id, else its api key."""
    return scope["application_id"] or scope["api_key"] or ""


@bp.get("/scenarios")
def list_scenarios() -> Response:
    engine = sandbox()
    return jsonify(
        scenarios=[
            {
                "name": s.name,
                "description": s.description,
                "select": "fallback" if s.fallback else s.select,
                "rules": len(s.rules) + len(s.index),
                "source": s.source,
            }
            for s in engine.library.scenarios.values()
        ],
        selected={scope: list(names) for scope, names in engine.selected.items()},
    )


@bp.put("/scenarios/selected")
def select_scenarios() -> Response:
    body = json_body()
    names = body.get("scenarios")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise invalid_params([InvalidParameter("scenarios", "must be a list of scenario names")])
    key = scope_name(optional_strings(body, "api_key", "application_id"))
    sandbox().select_scenarios(names, key)
    return jsonify(scope=key, scenarios=names)


@bp.get("/clock")
def clock() -> Response:
    return jsonify(clock_state(sandbox()))


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """Manual clock: move it forward and answer once every event due by then went out."""
    engine = sandbox()
    seconds = json_body().get("seconds")
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not 0 <= seconds <= MAX_ADVANCE  # also refuses NaN and infinities
    ):
        raise invalid_params(
            [InvalidParameter("seconds", f"is required: a number from 0 to {MAX_ADVANCE}")]
        )
    if not engine.clock.manual:
        raise problems.gateway(
            409,
            "clock-not-manual",
            "The clock is not manual",
            "This sandbox runs on the real clock; start it with --clock manual to move time.",
        )
    engine.advance(float(seconds))
    return jsonify(clock_state(engine))


def clock_state(engine: Sandbox) -> dict[str, Any]:
    return {
        "clock": "manual" if engine.clock.manual else "real",
        "speed": engine.clock.speed,
        "now": timestamp(engine.clock.now()),
    }
