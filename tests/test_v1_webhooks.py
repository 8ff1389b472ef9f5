"""Messages API v1 webhooks end to end: each one valid against the v1 document's own schemas.

The sandbox checks every payload against its channel's schema before sending it (an invalid
one fails the test through the ``start_sandbox`` fixture); these tests check again, here,
against the document's whole ``x-webhooks`` ``oneOf`` (status ``allOf`` fault corrected).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from sandbox.versions.v1_document import load_v1

from .conftest import BASIC
from .test_webhooks import TIMESTAMP

PUBLISHED = Path(__file__).parent / "published" / "v1"
CURL = json.loads((PUBLISHED / "curl.json").read_text(encoding="utf-8"))
FIRST_OF_CHANNEL = {}
for _case in CURL:
    if _case["method"] == "POST" and "failover" not in _case["body"]:
        FIRST_OF_CHANNEL.setdefault(_case["body"]["channel"], _case["body"])
LIFECYCLES = {
    "sms": ["submitted", "delivered"],
    "mms": ["submitted", "delivered"],
    "rcs": ["submitted", "delivered", "read"],
    "whatsapp": ["submitted", "delivered", "read"],
    "messenger": ["submitted", "delivered", "read"],
    "viber_service": ["submitted", "delivered", "read"],
}
SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "Acme", "text": "hi"}
WHATSAPP = {
    "channel": "whatsapp",
    "message_type": "text",
    "to": "447700900000",
    "from": "447700900001",
    "text": "Your order is ready",
}


@pytest.fixture(scope="module")
def v1_schemas():
    return document_validators()


def document_validators() -> dict[str, Draft4Validator]:
    """The document's message-status and inbound-message webhook bodies, as validators."""
    spec = load_v1().spec
    hooks = spec.document["x-webhooks"]

    def body_schema(name: str) -> Draft4Validator:
        post = next(iter(hooks[name].values()))["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        return Draft4Validator({**schema, "components": {"schemas": spec.schemas}})

    return {"status": body_schema("message-status"), "inbound": body_schema("inbound-message")}


def post(client, body, headers=None):
    return client.http.post(
        f"{client.url}/v1/messages", json=body, headers={"Authorization": BASIC, **(headers or {})}
    )


def statuses(receiver, message_uuid, path="/status"):
    return [r.json for r in receiver.on(path) if r.json["message_uuid"] == message_uuid]


@pytest.mark.parametrize("channel", sorted(LIFECYCLES))
def test_default_v1_lifecycle_per_channel(manual, receiver, v1_schemas, channel):
    body = FIRST_OF_CHANNEL[channel]
    response = post(manual, body)
    assert response.status_code == 202, response.text
    message_uuid = response.json()["message_uuid"]
    manual.sandbox.advance(60)
    payloads = statuses(receiver, message_uuid)
    assert [p["status"] for p in payloads] == LIFECYCLES[channel]
    for payload in payloads:
        v1_schemas["status"].validate(payload)
        assert (payload["channel"], payload["to"], payload["from"]) == (
            channel,
            body["to"],
            body["from"],
        )
        assert TIMESTAMP.fullmatch(payload["timestamp"])
        assert "workflow" not in payload
    assert ("usage" in payloads[0]) == (channel in ("sms", "mms", "messenger", "viber_service"))


def test_email_lives_submitted_then_delivered(manual, receiver, v1_schemas):
    body = {
        "channel": "email",
        "message_type": "text",
        "to": "customer@example.com",
        "from": "shop@example.com",
        "text": "Hello",
        "email": {"subject": "Hi"},
    }
    message_uuid = post(manual, body).json()["message_uuid"]
    manual.sandbox.advance(60)
    payloads = statuses(receiver, message_uuid)
    assert [p["status"] for p in payloads] == ["submitted", "delivered"]
    for payload in payloads:
        v1_schemas["status"].validate(payload)


def test_sms_status_has_usage_and_parts(manual, receiver, v1_schemas):
    message_uuid = post(manual, {**SMS, "text": "a" * 161, "client_ref": "ref-1"}).json()[
        "message_uuid"
    ]
    manual.sandbox.advance(60)
    submitted, delivered = statuses(receiver, message_uuid)
    assert submitted["usage"] == {"currency": "EUR", "price": "0.0666"}
    assert submitted["sms"] == {"count_total": "2"} == delivered["sms"]
    assert submitted["client_ref"] == "ref-1"
    v1_schemas["status"].validate(submitted)


def test_magic_recipient_error_in_v1_shape(manual, receiver, v1_schemas):
    message_uuid = post(manual, {**WHATSAPP, "to": "15550001340"}).json()["message_uuid"]
    manual.sandbox.advance(60)
    submitted, rejected = statuses(receiver, message_uuid)
    assert (submitted["status"], rejected["status"]) == ("submitted", "rejected")
    error = rejected["error"]
    assert error["type"] == "https://developer.vonage.com/api-errors/messages#1340"
    assert error["title"] == "1340"
    assert error["detail"].startswith("Outside of the allowed window")
    assert uuid.UUID(error["instance"])
    v1_schemas["status"].validate(rejected)
    journal = manual.get(f"/_sandbox/messages/{message_uuid}").json()
    assert (journal["scenario"], journal["rule"], journal["api_version"]) == (
        "error-codes",
        "1340",
        "v1",
    )


def test_v1_only_code_has_a_magic_recipient_on_v1_only(manual, receiver):
    v1_uuid = post(manual, {**SMS, "to": "15550002001"}).json()["message_uuid"]
    manual.sandbox.advance(60)
    assert [p.get("error", {}).get("title") for p in statuses(receiver, v1_uuid)] == [
        None,
        "2001",
    ]


def test_webhook_version_v0_1_switches_the_shape(manual, receiver):
    message_uuid = post(manual, {**SMS, "webhook_version": "v0.1"}).json()["message_uuid"]
    manual.sandbox.advance(60)
    payloads = statuses(receiver, message_uuid)
    assert [p["status"] for p in payloads] == ["submitted", "delivered"]
    assert payloads[0]["to"] == {"type": "sms", "number": "447700900000"}
    assert "channel" not in payloads[0]


def test_webhook_url_overrides_the_status_url(manual, receiver):
    url = receiver.url + "/mine"
    message_uuid = post(manual, {**SMS, "webhook_url": url}).json()["message_uuid"]
    manual.sandbox.advance(60)
    assert len(statuses(receiver, message_uuid, "/mine")) == 2
    assert statuses(receiver, message_uuid) == []


def test_webhook_url_is_checked_like_v0_1_callback(manual):
    response = post(manual, {**SMS, "webhook_url": "http://127.0.0.1:4010/_sandbox/reset"})
    assert response.status_code == 422
    assert response.json()["invalid_parameters"][0]["name"] == "webhook_url"


def test_bodies_are_compact_and_unescaped(manual, receiver):
    message_uuid = post(manual, {**SMS, "client_ref": "café ✅"}).json()["message_uuid"]
    manual.sandbox.advance(60)
    raw = next(r.body for r in receiver.on("/status") if message_uuid.encode() in r.body)
    assert "café ✅".encode() in raw
    assert b": " not in raw and b", " not in raw


def test_admin_listing_and_cli_line_show_the_api_version(manual):
    v1_uuid = post(manual, SMS).json()["message_uuid"]
    listed = manual.get("/_sandbox/messages").json()["items"]
    versions = {m["message_uuid"]: m["api_version"] for m in listed}
    assert versions[v1_uuid] == "v1"
    only_v1 = manual.get("/_sandbox/messages", params={"api_version": "v1"}).json()["items"]
    assert [m["message_uuid"] for m in only_v1] == [v1_uuid]


def test_revoked_rcs_message_gets_no_delivered_or_read(manual, receiver):
    body = FIRST_OF_CHANNEL["rcs"]
    message_uuid = post(manual, body).json()["message_uuid"]
    manual.sandbox.advance(1)  # submitted is sent
    patched = manual.http.patch(
        f"{manual.url}/v1/messages/{message_uuid}",
        json={"status": "revoked"},
        headers={"Authorization": BASIC},
    )
    assert patched.status_code == 202
    manual.sandbox.advance(60)
    assert [p["status"] for p in statuses(receiver, message_uuid)] == ["submitted"]
    assert manual.sandbox.store.get_message(message_uuid)["status"] == "revoked"
    assert [e["status"] for e in manual.sandbox.store.events_for(message_uuid)] == ["submitted"]


# failover workflows ----------------------------------------------------------------------

FAILOVER = {
    **WHATSAPP,
    "to": "15550001340",
    "failover": [{**SMS, "text": "SMS second"}, {**SMS, "text": "never sent"}],
}


def test_failover_whatsapp_rejected_then_sms_delivered(manual, receiver, v1_schemas):
    answer = post(manual, FAILOVER).json()
    workflow_id = answer["workflow_id"]
    ended = manual.get(f"/_sandbox/workflows/{workflow_id}", params={"wait": 5}).json()
    assert ended["ended_by"] != answer["message_uuid"]
    assert ended["status"] == "delivered"
    first, second = ended["messages"]  # the third message is never reached
    assert (first["message_uuid"], first["channel"], first["status"]) == (
        answer["message_uuid"],
        "whatsapp",
        "rejected",
    )
    assert (second["message_uuid"], second["channel"]) == (ended["ended_by"], "sms")
    payloads = [r.json for r in receiver.on("/status")]
    seen = [(p["channel"], p["status"], p.get("error", {}).get("title")) for p in payloads]
    assert seen == [
        ("whatsapp", "submitted", None),
        ("whatsapp", "rejected", "1340"),
        ("sms", "submitted", None),
        ("sms", "delivered", None),
    ]
    assert [p["workflow"] for p in payloads] == [
        {"workflow_id": workflow_id, "items_number": n, "items_total": "3"}
        for n in ("1", "1", "2", "2")
    ]
    assert payloads[1]["timestamp"] <= payloads[2]["timestamp"]
    for payload in payloads:
        v1_schemas["status"].validate(payload)


def test_a_delivered_primary_ends_the_workflow(manual, receiver):
    answer = post(manual, {**FAILOVER, "to": "447700900000"}).json()
    ended = manual.get(f"/_sandbox/workflows/{answer['workflow_id']}", params={"wait": 5}).json()
    assert [m["channel"] for m in ended["messages"]] == ["whatsapp"]
    assert (ended["ended_by"], ended["status"]) == (answer["message_uuid"], "read")
    assert {r.json["channel"] for r in receiver.on("/status")} == {"whatsapp"}


def test_unknown_workflow_is_404(manual):
    assert manual.get("/_sandbox/workflows/nope").status_code == 404


# inbound ---------------------------------------------------------------------------------

INBOUND_CASES = [
    (channel, kind)
    for channel, kinds in __import__(
        "sandbox.versions.v1_webhooks", fromlist=["INBOUND_TYPES"]
    ).INBOUND_TYPES.items()
    for kind in kinds
]


@pytest.mark.parametrize(("channel", "kind"), INBOUND_CASES)
def test_v1_inbound_per_channel_and_type(manual, receiver, v1_schemas, channel, kind):
    injected = manual.http.post(
        f"{manual.url}/_sandbox/inbound",
        json={"channel": channel, "webhook_version": "v1", "content": {"type": kind}},
    )
    assert injected.status_code == 201, injected.text
    message_uuid = injected.json()["message_uuid"]
    received = receiver.wait_for(1, "/inbound", timeout=5)
    payload = received[0].json
    assert (payload["message_uuid"], payload["channel"], payload["message_type"]) == (
        message_uuid,
        channel,
        kind,
    )
    v1_schemas["inbound"].validate(payload)
    listed = manual.get(f"/_sandbox/messages/{message_uuid}").json()
    assert (listed["direction"], listed["api_version"]) == ("inbound", "v1")


def test_inbound_defaults_to_the_version_of_the_last_message_sent(manual, receiver):
    post(manual, {**WHATSAPP, "to": "447700900123"})
    fields = {"channel": "whatsapp", "from": "447700900123", "to": WHATSAPP["from"]}
    manual.http.post(f"{manual.url}/_sandbox/inbound", json={**fields, "content": {"text": "hi"}})
    manual.http.post(f"{manual.url}/_sandbox/inbound", json={**fields, "from": "447700900999"})
    inbound = receiver.wait_for(2, "/inbound", timeout=5)
    by_customer = {
        (r.json.get("from") if "channel" in r.json else r.json["from"]["number"]): r.json
        for r in inbound
    }
    v1 = by_customer["447700900123"]
    assert (v1["channel"], v1["text"], v1["profile"]) == ("whatsapp", "hi", {"name": "Customer"})
    assert "message" in by_customer["447700900999"]  # nobody wrote to them: v0.1's shape


def test_inbound_v1_only_channel_needs_v1(manual):
    refused = manual.http.post(f"{manual.url}/_sandbox/inbound", json={"channel": "rcs"})
    assert refused.status_code == 400
    assert refused.json()["invalid_parameters"][0]["name"] == "channel"
    bad = manual.http.post(
        f"{manual.url}/_sandbox/inbound", json={"channel": "sms", "webhook_version": "v2"}
    )
    assert bad.json()["invalid_parameters"][0]["name"] == "webhook_version"


def test_scenario_reply_to_a_v1_message_arrives_in_v1_shape(manual, receiver, v1_schemas):
    post(manual, {**WHATSAPP, "to": "15550009000", "text": "ping"})
    manual.sandbox.advance(60)
    reply = receiver.wait_for(1, "/inbound", timeout=5)[0].json
    assert (reply["channel"], reply["message_type"], reply["text"]) == (
        "whatsapp",
        "text",
        "You said: ping",
    )
    assert reply["from"] == "15550009000"
    v1_schemas["inbound"].validate(reply)
    listed = manual.get(f"/_sandbox/messages/{reply['message_uuid']}").json()
    assert listed["api_version"] == "v1"


# which shape, where ----------------------------------------------------------------------


def test_an_application_can_default_its_v1_messages_to_v0_1(manual, receiver):
    from .tokens import bearer

    put = manual.http.put(
        f"{manual.url}/_sandbox/applications/app-old",
        json={"status_url": receiver.url + "/app", "webhook_version": "v0.1"},
    )
    assert put.status_code == 200 and put.json()["webhook_version"] == "v0.1"
    auth = {"Authorization": bearer("app-old")}
    left_to_app = post(manual, SMS, headers=auth).json()["message_uuid"]
    asked_v1 = post(manual, {**SMS, "webhook_version": "v1"}, headers=auth).json()["message_uuid"]
    manual.sandbox.advance(60)
    assert "channel" not in statuses(receiver, left_to_app, "/app")[0]  # v0.1's shape
    assert statuses(receiver, asked_v1, "/app")[0]["channel"] == "sms"
    bad = manual.http.put(
        f"{manual.url}/_sandbox/applications/app-old", json={"webhook_version": "v2"}
    )
    assert bad.status_code == 400
    assert bad.json()["invalid_parameters"][0]["name"] == "webhook_version"


def test_v1_webhooks_are_signed_like_v0_1(start_sandbox, receiver):
    import hashlib

    import jwt

    secret = "a-signature-secret-of-32-bytes-or-more"
    client = start_sandbox(
        clock="manual", status_url=receiver.url + "/status", signature_secret=secret
    )
    post(client, SMS)
    client.sandbox.advance(60)
    for request in receiver.wait_for(2, "/status"):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, secret, algorithms=["HS256"])
        assert claims["payload_hash"] == hashlib.sha256(request.body).hexdigest()
        assert request.json["channel"] == "sms"


def test_the_plugin_client_waits_for_a_workflow(manual):
    from sandbox.client import SandboxClient

    workflow_id = post(manual, FAILOVER).json()["workflow_id"]
    ended = SandboxClient(manual.url).workflow(workflow_id, wait=5)
    assert [m["channel"] for m in ended["messages"]] == ["whatsapp", "sms"]
    assert ended["status"] == "delivered"


def test_inbound_default_follows_the_applications_setting_too(manual, receiver):
    from .tokens import bearer

    manual.http.put(
        f"{manual.url}/_sandbox/applications/app-old",
        json={"inbound_url": receiver.url + "/app-inbound", "webhook_version": "v0.1"},
    )
    post(manual, {**WHATSAPP, "to": "447700900321"}, headers={"Authorization": bearer("app-old")})
    manual.http.post(
        f"{manual.url}/_sandbox/inbound",
        json={
            "channel": "whatsapp",
            "from": "447700900321",
            "to": WHATSAPP["from"],
            "application_id": "app-old",
        },
    )
    (inbound,) = receiver.wait_for(1, "/app-inbound", timeout=5)
    assert inbound.json["from"] == {"type": "whatsapp", "number": "447700900321"}  # v0.1
