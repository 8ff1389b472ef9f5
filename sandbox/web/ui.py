"""The web UI (/_sandbox/ui/) and the change feed it lives on (/_sandbox/changes).

Thin: parse, read through the read models (conversations, feed, inspector), render Jinja
templates. The UI's actions are plain admin API calls made by its script with JSON bodies.
With ``--admin-token`` the UI asks for the token once and keeps an HttpOnly, SameSite=Strict
session cookie, which the admin API and the event stream accept like the Bearer header.
"""

from __future__ import annotations

import hmac
import json
import shlex
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import feed, problems
from ..conversations import Conversation, conversations, thread
from ..engine import Sandbox
from ..events import timestamp
from ..feed import Cursor
from ..jsontext import compact_json
from ..problems import InvalidParameter, invalid_params
from ..store import Query
from . import guard
from .budget import Budget

bp = Blueprint(
    "ui",
    __name__,
    url_prefix="/_sandbox/ui",
    template_folder="templates",
    static_folder="static/ui",
    static_url_path="/static",
)
feed_bp = Blueprint("feed", __name__, url_prefix="/_sandbox")
STREAM_LIFETIME = 60.0  # then the browser's EventSource reconnects (bounded thread use)
HEARTBEAT = 2.0  # also how soon a stream notices its client left, and frees its thread
LIST_LIMIT = 100
CONVERSATION_FILTERS = ("channel", "status", "api_key", "application_id")
WEBHOOK_STATES = ("scheduled", "pending", "delivered", "failed", "unsent", "invalid")


def register(app: Flask) -> None:
    """The UI, the change feed, and ``/`` redirecting to the UI."""
    app.register_blueprint(bp)
    app.register_blueprint(feed_bp)
    app.add_url_rule("/", "ui_root", lambda: redirect(url_for("ui.conversations_page")))
    # streams hold their thread on purpose: a budget of their own (--max-streams), past the
    # --threads that answer sends; "closing" tells them to end when the server stops
    app.extensions["budgets"]["streams"] = Budget(app.extensions["sandbox"].settings.max_streams)
    app.extensions["streams_closing"] = threading.Event()


def end_streams(app: Flask, timeout: float) -> bool:
    """Tell the event streams to end (the server is stopping); wait for them, at most
    ``timeout`` s. (The server's drain stops counting a stream once the app returned it.)"""
    app.extensions["streams_closing"].set()
    return app.extensions["budgets"]["streams"].wait_idle(timeout)


def sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


# the session (web/guard.py) --------------------------------------------------------------


@bp.before_request
def require_login() -> Response | None:
    if request.endpoint in ("ui.login", "ui.static") or guard.is_admin():
        return None
    return redirect(url_for("ui.login", next=request.full_path))


feed_bp.before_request(guard.require_admin)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = request.values.get("next", "")
    if not target.startswith("/_sandbox/ui/"):
        target = url_for("ui.conversations_page")
    token = sandbox().settings.admin_token
    if not token:
        return redirect(target)  # nothing to sign in to
    if request.method == "GET":
        return render_template("ui/login.html", next=target, wrong=False)
    given = request.form.get("token", "")
    cross_site = guard.cross_site_reason(request.headers)
    if cross_site or not hmac.compare_digest(given.encode(), token.encode()):
        return render_template("ui/login.html", next=target, wrong=True), 401
    response = redirect(target)
    response.set_cookie(
        guard.cookie_name(),
        guard.session_value(token, int(time.time())),
        max_age=guard.SESSION_LIFETIME,
        secure=bool(current_app.extensions.get("tls_cert")),  # HTTPS only when served so
        httponly=True,
        samesite="Strict",
        path="/",
    )
    return response


# pages and their fragments -------------------------------------------------------------


def page_or_fragment(template: str, **context: Any) -> str:
    """The whole page, or with ``?fragment=1`` (htmx's refreshes) only its live part."""
    context["fragment"] = request.args.get("fragment") == "1"
    # read before the page's data: the page's stream starts here, so nothing falls between
    context["cursor"] = str(feed.head(sandbox().store))
    return render_template(template, **context)


def conversation_rows() -> list[dict[str, Any]]:
    """The conversations the query string's filters and search (``q``) select."""
    equals = {
        name: tuple(v for v in request.args.get(name, "").split(",") if v)
        for name in CONVERSATION_FILTERS
    }
    query = Query(equals={k: v for k, v in equals.items() if v}, limit=LIST_LIMIT)
    return conversations(sandbox().store, query, request.args.get("q", "").strip() or None)


@bp.get("/")
def conversations_page() -> str:
    spec = sandbox().spec
    return page_or_fragment(
        "ui/conversations.html",
        rows=conversation_rows(),
        args=request.args,
        channels=spec.enum("MessageStatus", "to", "type"),
        statuses=spec.enum("MessageStatus", "status"),
    )


def inbound_channels(engine: Sandbox) -> tuple[str, ...]:
    return tuple(engine.spec.enum("InboundMessage", "to", "type"))


@bp.get("/c/<channel>/<business>/<customer>")
def conversation_page(channel: str, business: str, customer: str) -> str:
    engine = sandbox()
    bubbles = thread(engine.store, Conversation(channel, business, customer))
    replies = inbound_channels(engine)
    scope = bubbles[-1] if bubbles else {}
    return page_or_fragment(
        "ui/conversation.html",
        channel=channel,
        business=business,
        customer=customer,
        bubbles=bubbles,
        can_reply=channel in replies,
        no_reply_reason=(
            f"The Messages API {engine.spec.version} has no inbound {channel} messages "
            f"(only {', '.join(replies)})."
        ),
        scope={"api_key": scope.get("api_key"), "application_id": scope.get("application_id")},
    )


@bp.get("/m/<message_uuid>")
def message_page(message_uuid: str) -> Any:
    engine = sandbox()
    detail = engine.inspector.message(message_uuid)
    if detail is None:
        return render_template("ui/missing.html", message_uuid=message_uuid), 404
    for event in detail["events"]:
        event["next_retry"] = next_retry(engine, event)
        event["curl"] = curl(event)
    return page_or_fragment("ui/message.html", m=detail, pretty=pretty)


def next_retry(engine: Sandbox, event: dict[str, Any]) -> str | None:
    """When a failing delivery will be tried again (the dispatcher's backoff policy)."""
    if event["state"] != "pending" or not event["attempts"]:
        return None
    last = engine.store.attempts_for(event["id"])[-1]["at"]
    delay = engine.dispatcher.policy.delay(len(event["attempts"]))
    return timestamp(last + delay / engine.clock.speed)


def curl(event: dict[str, Any]) -> str | None:
    """The webhook as a curl command, with the headers its last attempt sent (the signed
    Authorization JWT included); before any attempt, Content-Type only."""
    if not event["url"] or event["payload"] is None:
        return None
    body = compact_json(event["payload"])
    sent = event["attempts"][-1]["request_headers"] if event["attempts"] else None
    headers = sent or {"Content-Type": "application/json"}
    flags = " ".join(f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items())
    return f"curl -X POST {shlex.quote(event['url'])} {flags} --data-raw {shlex.quote(body)}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@bp.get("/webhooks")
def webhooks_page() -> str:
    states = tuple(s for s in request.args.get("state", "").split(",") if s in WEBHOOK_STATES)
    query = Query(equals={"state": states} if states else {}, limit=LIST_LIMIT)
    items = sandbox().inspector.webhooks(query)["items"]
    return page_or_fragment(
        "ui/webhooks.html", items=items, state=",".join(states), states=WEBHOOK_STATES
    )


@bp.get("/controls")
def controls_page() -> str:
    engine = sandbox()
    return page_or_fragment(
        "ui/controls.html",
        clock={"manual": engine.clock.manual, "now": timestamp(engine.clock.now())},
        scenarios=list(engine.library.scenarios.values()),
        selected={scope: list(names) for scope, names in engine.selected.items()},
        applications=list(engine.applications.values()),
        defaults=engine.webhooks,
    )


# the change feed -----------------------------------------------------------------------


def cursor_from(raw: str | None, store: Any) -> Cursor:
    if raw is None or raw == "":
        return feed.head(store)
    try:
        return Cursor.parse(raw)
    except ValueError as exc:
        raise invalid_params([InvalidParameter("since", str(exc))]) from None


@feed_bp.get("/changes")
def changes() -> Response:
    """What changed after ``since`` (none given: nothing yet, and the cursor of now)."""
    store = sandbox().store
    raw = request.args.get("since")
    if raw is None:
        return jsonify(cursor=str(feed.head(store)), changes=[], more=False)
    return jsonify(feed.changes(store, cursor_from(raw, store)))


@feed_bp.get("/changes/stream")
def change_stream() -> Response:
    """Server-Sent Events: one 'change' event per batch; ends after STREAM_LIFETIME."""
    store = sandbox().store
    raw = request.args.get("since") or request.headers.get("Last-Event-ID")
    since = cursor_from(raw, store)
    budget = current_app.extensions["budgets"]["streams"]
    if not budget.acquire():
        raise problems.gateway(
            503,
            "too-many-streams",
            "Too many event streams",
            "Every stream slot is taken (see --max-streams); "
            "poll /_sandbox/changes?since=<cursor> instead, or try again later.",
        )
    closing = current_app.extensions["streams_closing"]
    response = Response(
        stream(store, since, STREAM_LIFETIME, closing),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(budget.release)
    return response


def stream(store: Any, since: Cursor, lifetime: float, closing: threading.Event) -> Iterator[str]:
    """Batches of changes as they happen, a heartbeat comment when quiet, then the end
    (after ``lifetime`` s, or at the next heartbeat once the server is ``closing``)."""
    deadline = time.monotonic() + lifetime
    yield f"retry: 1000\nid: {since}\nevent: ready\ndata: {{}}\n\n"
    while (remaining := deadline - time.monotonic()) > 0 and not (closing.is_set() or store.closed):
        seen = store.version
        found = feed.changes(store, since)
        if found["changes"]:
            since = Cursor.parse(found["cursor"])
            yield f"id: {since}\nevent: change\ndata: {compact_json(found)}\n\n"
        elif store.wait_for_change(seen, min(HEARTBEAT, remaining)) == seen:
            yield ": heartbeat\n\n"  # a client that left makes this write fail: we end


@feed_bp.get("/conversations")
def conversations_json() -> Response:
    """The conversations list of the UI, as JSON."""
    rows = conversation_rows()
    for row in rows:
        row["last"].pop("sort", None)
    return jsonify(items=rows)
