"""The seams of #11 in process: the run-time state, Sandbox start/close, version renderers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sandbox import versions
from sandbox.config import Application, Settings
from sandbox.engine import Sandbox
from sandbox.message import Message, Origin
from sandbox.runtime import Runtime, WebhookUrls
from sandbox.spec import Spec
from sandbox.webhooks import WebhookBuilder

from .samples import VALID

# the run-time state --------------------------------------------------------------------


def test_an_unscoped_reset_replaces_the_whole_state():
    runtime = Runtime(Settings(status_url="http://127.0.0.1:1/s"))
    before = runtime.state
    runtime.put_application(Application("app", status_url="http://127.0.0.1:2/a"))
    runtime.set_urls(WebhookUrls("http://127.0.0.1:3/s"), "key-a")
    runtime.select(("x",), "key-a")
    before.counters.take(("rule", "key-a", "447"))
    runtime.reset()
    assert runtime.state is not before
    assert runtime.state.applications == {}
    assert runtime.state.urls_for("key-a") == WebhookUrls("http://127.0.0.1:1/s")
    assert runtime.state.selected == {}
    assert runtime.state.counters.take(("rule", "key-a", "447")) == 0


def test_a_scoped_reset_drops_only_that_scope():
    runtime = Runtime(Settings())
    for scope in ("a", "b"):
        runtime.set_urls(WebhookUrls(f"http://127.0.0.1:1/{scope}"), scope)
        runtime.select(("x",), scope)
        runtime.state.counters.take(("rule", scope, "447"))
    runtime.reset("a")
    assert set(runtime.state.scope_urls) == {"b"}
    assert set(runtime.state.selected) == {"b"}
    assert runtime.state.counters.take(("rule", "a", "447")) == 0
    assert runtime.state.counters.take(("rule", "b", "447")) == 1


# starting and stopping -----------------------------------------------------------------


def test_the_constructor_only_wires_and_start_opens_the_journal(tmp_path):
    journal = tmp_path / "journal.db"
    sandbox = Sandbox(Settings(db=str(journal), clock="manual"))
    assert not journal.exists()  # nothing opened, replayed or started yet
    with sandbox:
        assert journal.exists()
        assert sandbox.dispatcher.running
        with pytest.raises(RuntimeError, match="already started"):
            sandbox.start()
    assert not sandbox.dispatcher.running
    assert sandbox.store.closed
    sandbox.close()  # a second close does nothing


# versions ------------------------------------------------------------------------------


class EchoRenderer:
    """A stand-in second version: renders every event as one flat object."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def status(self, event):
        return {"uuid": event.message_uuid, "status": event.step["status"], "to": event.message.to}

    def inbound(self, event):
        return {"uuid": event.message_uuid, "from": event.customer}

    def problem(self, kind, payload):
        return None


def build(message: Message, renderers) -> dict:
    builder = WebhookBuilder(renderers, lambda: Runtime(Settings()).state)
    origin = Origin.of(message, "key", None)
    webhook = builder.build("status", "m-1", {"status": "delivered"}, origin, 0.0)
    assert webhook.problem is None
    return json.loads(webhook.body)


def test_a_message_is_rendered_in_its_webhook_version(monkeypatch):
    monkeypatch.setitem(versions.WEBHOOK_RENDERERS, "echo", EchoRenderer)
    renderers = versions.renderers(Spec.load())
    message = versions.v0_1.to_message(VALID["sms-text"])
    assert build(message, renderers)["to"] == {"type": "sms", "number": "447700900000"}
    echoed = dataclasses.replace(message, webhook_version="echo")
    assert build(echoed, renderers) == {"uuid": "m-1", "status": "delivered", "to": "447700900000"}


def test_the_v0_1_renderer_serves_a_message_from_another_version():
    flat = Message(
        api_version="v1",
        channel="messenger",
        to="1234",
        sender="5678",
        content_type="text",
        content={"text": "hi"},
        client_ref="ref",
        to_kind="id",
        sender_kind="id",
    )
    payload = build(flat, versions.renderers(Spec.load()))
    assert payload["to"] == {"type": "messenger", "id": "1234"}
    assert payload["from"] == {"type": "messenger", "id": "5678"}
    assert payload["client_ref"] == "ref"
