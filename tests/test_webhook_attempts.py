"""Every webhook attempt in full, and the admin actions on a webhook: retry now, resend.

Over real HTTP, to a real receiver; answers are checked against the admin document.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from sandbox.events import timestamp
from sandbox.transport import RESPONSE_KEPT

from .receiver import Behaviour
from .samples import VALID, message

SECRET = "a-signature-secret-of-32-bytes-or-more"


@pytest.fixture(scope="module")
def document() -> OpenAPI:
    from sandbox.web.admin import ADMIN_DOCUMENT

    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(yaml.safe_load(ADMIN_DOCUMENT.read_text()), config=config)


@pytest.fixture
def signed(start_sandbox, receiver):
    """A manual-clock sandbox signing its webhooks, which go to the receiver."""
    return start_sandbox(
        clock="manual", status_url=receiver.url + "/status", signature_secret=SECRET
    )


@pytest.fixture
def admin(signed, document):
    """Call the admin API and check the answer against the admin document."""

    def call(method: str, path: str, expect: int = 200, **kwargs):
        kwargs.setdefault("headers", {"Content-Type": "application/json"})
        response = signed.http.request(method, f"{signed.url}/_sandbox{path}", **kwargs)
        assert response.status_code == expect, response.text
        document.validate_response(
            RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
        )
        return response.json()

    return call


def submitted_webhook(admin, message_uuid: str) -> dict:
    (webhook,) = admin("GET", f"/webhooks?message_uuid={message_uuid}&status=submitted")["items"]
    return webhook


def test_attempts_keep_request_headers_and_the_response(signed, receiver, admin):
    long_body = b"x" * (RESPONSE_KEPT + 100)
    receiver.answer(
        Behaviour(500, body=b'{"oops": true}', headers=(("X-Receiver", "first"),)),
        Behaviour(200, body=long_body, headers=(("Content-Type", "text/plain"),)),
    )
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    signed.sandbox.advance(1)
    signed.sandbox.advance(5)
    got = receiver.wait_for(2, "/status")

    failed, ok = submitted_webhook(admin, message_uuid)["attempts"]
    assert failed["status_code"] == 500 and failed["error"] == "HTTP 500"
    assert failed["response"] == {
        "headers": {**failed["response"]["headers"], "X-Receiver": "first"},
        "body": '{"oops": true}',
        "truncated": False,
    }
    assert ok["status_code"] == 200 and ok["error"] is None and ok["manual"] is None
    assert ok["response"]["body"] == "x" * RESPONSE_KEPT and ok["response"]["truncated"] is True
    assert ok["response"]["headers"]["Content-Type"] == "text/plain"
    # The headers journaled are the ones the receiver got: each attempt's own signed JWT.
    for attempt, request in zip((failed, ok), got, strict=True):
        sent = attempt["request_headers"]
        assert sent["Authorization"] == request.headers["Authorization"]
        assert sent["Authorization"].startswith("Bearer ")
        assert sent["Content-Type"] == "application/json"
    assert failed["request_headers"]["Authorization"] != ok["request_headers"]["Authorization"]
    detail = admin("GET", f"/messages/{message_uuid}")
    assert detail["events"][0]["attempts"] == [failed, ok]


def test_unreachable_receiver_keeps_the_request_headers_and_no_response(start_sandbox, document):
    client = start_sandbox(clock="manual", status_url="http://127.0.0.1:9/s")
    message_uuid = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(1)
    client.sandbox.dispatcher.wait_idle(5)
    response = client.get(f"/_sandbox/webhooks?message_uuid={message_uuid}&status=submitted")
    document.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )
    (attempt,) = response.json()["items"][0]["attempts"]
    assert attempt["error"] == "connection refused" and attempt["status_code"] is None
    assert attempt["response"] == {"headers": None, "body": None, "truncated": False}
    assert attempt["request_headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in attempt["request_headers"]  # unsigned sandbox


def test_retry_now_moves_a_failing_delivery_to_now(signed, receiver, admin):
    receiver.answer(Behaviour(500))
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    signed.sandbox.advance(1)
    signed.sandbox.dispatcher.wait_idle(5)
    webhook = submitted_webhook(admin, message_uuid)
    assert webhook["state"] == "pending" and len(webhook["attempts"]) == 1
    first_at = signed.sandbox.store.attempts_for(webhook["id"])[0]["at"]

    answer = admin("POST", f"/webhooks/{webhook['id']}/retry", 202)
    assert answer["id"] == webhook["id"]
    receiver.wait_for(2, "/status")
    signed.sandbox.dispatcher.wait_idle(5)

    attempts = signed.sandbox.store.attempts_for(webhook["id"])
    assert [a["status_code"] for a in attempts] == [500, 200]
    assert [a["manual"] for a in attempts] == [None, "retry"]
    assert attempts[1]["at"] - first_at < 5  # before the 5 s backoff would have come
    assert submitted_webhook(admin, message_uuid)["state"] == "delivered"

    again = admin("POST", f"/webhooks/{webhook['id']}/retry", 409)
    assert again["type"].endswith("#wrong-state")
    assert "delivered" in again["detail"] and "resend" in again["detail"]


def test_retry_now_never_overtakes_an_earlier_webhook_of_the_message(signed, receiver, admin):
    receiver.default = Behaviour(500)
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    signed.sandbox.advance(1)  # submitted fails; retry in 5 s
    signed.sandbox.advance(4)  # delivered occurs, and waits behind submitted
    signed.sandbox.dispatcher.wait_idle(5)
    events = admin("GET", f"/webhooks?message_uuid={message_uuid}")["items"]
    delivered = next(e for e in events if e["status"] == "delivered")
    assert delivered["state"] == "pending" and delivered["attempts"] == []

    refused = admin("POST", f"/webhooks/{delivered['id']}/retry", 409)
    assert refused["type"].endswith("#not-waiting")
    assert "earlier webhook of its message" in refused["detail"]
    assert [r.json["status"] for r in receiver.on("/status")] == ["submitted"]


def test_resend_posts_the_same_body_again(signed, receiver, admin):
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    signed.sandbox.advance(1)
    (first,) = receiver.wait_for(1, "/status")
    webhook = submitted_webhook(admin, message_uuid)
    assert webhook["state"] == "delivered"

    receiver.answer(Behaviour(503))  # a failed resend leaves the webhook delivered
    assert admin("POST", f"/webhooks/{webhook['id']}/resend", 202)["id"] == webhook["id"]
    admin("POST", f"/webhooks/{webhook['id']}/resend", 202, json={})
    resent = receiver.wait_for(3, "/status")[1:]
    signed.sandbox.dispatcher.wait_idle(5)

    assert [r.body for r in resent] == [first.body, first.body]
    assert resent[0].headers["Authorization"] != first.headers["Authorization"]  # re-signed
    after = submitted_webhook(admin, message_uuid)
    assert after["state"] == "delivered"
    assert [(a["status_code"], a["manual"]) for a in after["attempts"]] == [
        (200, None),
        (503, "resend"),
        (200, "resend"),
    ]


def test_wrong_states_and_unknown_webhooks(signed, receiver, admin):
    receiver.default = Behaviour(500)
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    scheduled = submitted_webhook(admin, message_uuid)
    refused = admin("POST", f"/webhooks/{scheduled['id']}/retry", 409)
    assert "scheduled" in refused["detail"] and "advance the clock" in refused["detail"]
    assert admin("POST", f"/webhooks/{scheduled['id']}/resend", 409)["type"].endswith(
        "#wrong-state"
    )
    signed.sandbox.advance(1)
    signed.sandbox.dispatcher.wait_idle(5)
    pending = admin("POST", f"/webhooks/{scheduled['id']}/resend", 409)
    assert "pending" in pending["detail"] and "retry it now" in pending["detail"]
    for action in ("retry", "resend"):
        missing = admin("POST", f"/webhooks/999999/{action}", 404)
        assert missing["detail"] == "There is no webhook (event) 999999."
        assert admin("POST", f"/webhooks/nope/{action}", 404)["type"].endswith("#not-found")
    assert len(receiver.on("/status")) == 1


def test_a_journal_of_schema_3_gains_the_attempt_columns(tmp_path, start_sandbox):
    from sandbox.migrations import LATEST, MIGRATIONS, apply

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, step in enumerate(MIGRATIONS[:3], start=1):
        apply(db, number, step)
    db.execute("INSERT INTO attempts (event_id, url, at, status_code) VALUES (1, 'u', 1.0, 200)")
    db.close()
    client = start_sandbox(clock="manual", db=str(path))
    (row,) = client.sandbox.store.query("SELECT * FROM attempts")
    assert row["request_headers"] is None and row["manual"] is None
    assert client.sandbox.store.query("PRAGMA user_version")[0]["user_version"] == LATEST == 4


def test_message_page_shows_attempts_in_full_with_their_actions(signed, receiver):
    receiver.answer(Behaviour(500, body=b"receiver says no", headers=(("X-Why", "down"),)))
    message_uuid = signed.send(VALID["sms-text"]).json()["message_uuid"]
    signed.sandbox.advance(1)
    (got,) = receiver.wait_for(1, "/status")
    signed.sandbox.dispatcher.wait_idle(5)
    (webhook,) = signed.sandbox.store.events_for(message_uuid)[:1]
    page = signed.get(f"/_sandbox/ui/m/{message_uuid}").text
    token = got.headers["Authorization"]
    assert f"Authorization: {token}" in page  # the request as sent, signature included
    assert "X-Why: down" in page and "receiver says no" in page  # the response as answered
    retry = f'data-action="/_sandbox/webhooks/{webhook["id"]}/retry"'
    assert retry in page and ">Retry now</button>" in page
    curl = re.search(r'<pre id="curl-\d+" class="curl-text">([^<]*)</pre>', page).group(1)
    assert f"-H &#39;Authorization: {token}&#39;" in curl
    log = signed.get("/_sandbox/ui/webhooks", params={"state": "pending", "fragment": "1"}).text
    assert retry in log

    receiver.answer(Behaviour(200))
    signed.sandbox.advance(5)
    signed.sandbox.dispatcher.wait_idle(5)
    page = signed.get(f"/_sandbox/ui/m/{message_uuid}", params={"fragment": "1"}).text
    assert f'data-action="/_sandbox/webhooks/{webhook["id"]}/resend"' in page
    assert ">Retry now</button>" not in page


def test_thread_is_in_journal_order_on_a_manual_clock(manual):
    """A scripted reply is journaled when it occurs (sandbox time), after its message and
    after what arrived meanwhile, whatever the wall clock says."""
    body = message("whatsapp-text", to__number="15550009000", message__content__text="ping")
    manual.send(body)
    injected = {
        "channel": "whatsapp",
        "from": "15550009000",
        "to": body["from"]["number"],
        "content": {"type": "text", "text": "meanwhile"},
    }
    assert manual.http.post(f"{manual.url}/_sandbox/inbound", json=injected).status_code == 201
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 30})
    (link,) = re.findall(r'href="(/_sandbox/ui/c/[^"#]+)"', manual.get("/_sandbox/ui/").text)
    html = manual.get(link).text
    bubbles = re.findall(r'class="bubble (\w+)[^"]*".*?<p class="text">([^<]*)</p>', html, re.S)
    assert bubbles == [
        ("outbound", "ping"),
        ("inbound", "meanwhile"),
        ("inbound", "You said: ping"),
    ]


def test_messages_carry_the_sandbox_clock_time_as_webhooks_do(manual, receiver, document):
    body = message("whatsapp-text", to__number="15550009000", message__content__text="ping")
    sent = manual.send(body).json()["message_uuid"]
    start = manual.sandbox.clock.now()
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 3600})
    (reply,) = receiver.wait_for(1, "/inbound")
    response = manual.get("/_sandbox/messages")
    document.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )
    replied, original = response.json()["items"]
    assert original["message_uuid"] == sent
    assert original["sandbox_at"] == timestamp(start)
    # the reply is journaled when it occurs on the sandbox's clock: its webhook's timestamp
    assert replied["sandbox_at"] == reply.json["timestamp"]
    assert replied["sandbox_at"] > original["sandbox_at"]
    # the wall clock hardly moved: received_at cannot tell them an hour apart
    wall = [datetime.fromisoformat(m["received_at"]) for m in (original, replied)]
    assert (wall[1] - wall[0]).total_seconds() < 60
    thread = manual.get(
        re.findall(r'href="(/_sandbox/ui/c/[^"#]+)"', manual.get("/_sandbox/ui/").text)[0]
    )
    assert reply.json["timestamp"][:19] in thread.text or reply.json["timestamp"] in thread.text
