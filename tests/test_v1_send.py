"""Messages API v1 over real HTTP: Vonage's published bodies, the document's 422s, PATCH."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

from sandbox.versions.v1_document import load_v1

from .conftest import BASIC
from .tokens import bearer

PUBLISHED = Path(__file__).parent / "published" / "v1"
CURL = json.loads((PUBLISHED / "curl.json").read_text(encoding="utf-8"))
EXTRA = json.loads((PUBLISHED / "docs.json").read_text(encoding="utf-8"))
SENDS = [c for c in CURL + EXTRA if c["method"] == "POST"]
TYPES = "https://developer.vonage.com/api-errors/messages#"
SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "Acme", "text": "hi"}


def post(client, body, authorization=BASIC, headers=None):
    all_headers = {"Authorization": authorization, **(headers or {})}
    return client.http.post(f"{client.url}/v1/messages", json=body, headers=all_headers)


def patch(client, message_uuid, body, authorization=BASIC, data=None):
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    raw = data if data is not None else json.dumps(body).encode()
    return client.http.patch(f"{client.url}/v1/messages/{message_uuid}", data=raw, headers=headers)


def journal(client, message_uuid):
    return client.get(f"/_sandbox/messages/{message_uuid}").json()


def assert_request_id(response):
    assert uuid.UUID(response.headers["X-Request-Id"])


def assert_422(response, number, parameters=None):
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert_request_id(response)
    body = response.json()
    assert body["type"] == (TYPES + number if number[0].isdigit() else number), body
    assert set(body) >= {"type", "title", "detail", "instance"}
    assert body.get("invalid_parameters") == parameters, body
    return body


def case_id(case):
    return case["source"].split("/messages/", 1)[-1].split("#")[0]


# published bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("case", SENDS, ids=case_id)
def test_every_published_body_is_accepted_and_journaled(client, case):
    response = post(client, case["body"])
    assert response.status_code == 202, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert_request_id(response)
    body = response.json()
    assert uuid.UUID(body["message_uuid"]).version == 4
    assert ("workflow_id" in body) == ("failover" in case["body"])
    entry = journal(client, body["message_uuid"])
    assert entry["request"] == case["body"]
    assert entry["channel"] == case["body"]["channel"]
    assert entry["to"] == case["body"]["to"]


def test_the_published_bodies_cover_every_channel_and_type_of_the_document():
    covered = {(c["body"]["channel"], c["body"]["message_type"]) for c in SENDS}
    listed = {(ch, t) for ch, types in load_v1().message_schemas.items() for t in types}
    assert listed - covered == set()


def test_a_failover_answers_a_workflow_id_and_each_failover_message_is_checked(client):
    body = {**SMS, "channel": "rcs", "from": "AcmeRCS", "failover": [SMS]}
    accepted = post(client, body)
    assert accepted.status_code == 202
    assert len(accepted.json()["workflow_id"]) == 55
    bad = {**body, "failover": [{**SMS, "to": "123"}]}
    assert_422(post(client, bad), "1130")
    bad = {**body, "failover": [{**SMS, "text": 5}]}
    assert_422(
        post(client, bad),
        "1150",
        [{"name": "failover[0].text", "reason": "must be a string; got a number"}],
    )
    assert_422(
        post(client, {**body, "failover": {}}),
        "1150",
        [{"name": "failover", "reason": "must be an array; got an object"}],
    )


def test_jwt_sends_are_accepted(client):
    response = post(client, SMS, authorization=bearer("app-v1"))
    assert response.status_code == 202
    assert journal(client, response.json()["message_uuid"])["application_id"] == "app-v1"


# errors from the document's constraints ------------------------------------------------------

INVALID = [
    ({"channel": "fax"}, "1100", None),
    ({"channel": None}, "1100", None),
    ({"channel": {}}, "1100", None),  # found by tests/test_v1_fuzz.py: it was a 500
    ({"message_type": []}, "1140", None),
    ({"message_type": "image"}, "1140", None),
    ({"to": "12"}, "1130", None),
    ({"to": "1234567890123456"}, "1130", None),
    ({"from": 447700900001}, "1120", None),
    ({"client_ref": "x" * 101}, "1060", None),
    ({"ttl": 5}, "1110", [{"name": "ttl", "reason": "must be between 20 and 604800; got 5"}]),
    (
        {"sms": {"encoding_type": "utf8"}},
        "1110",
        [{"name": "sms.encoding_type", "reason": "must be one of text, unicode, auto; got 'utf8'"}],
    ),
    ({"text": None}, "1150", [{"name": "text", "reason": "must be a string; got null"}]),
    (
        {"text": "x" * 3201},
        "1150",
        [{"name": "text", "reason": "must be at most 3200 characters; got 3201"}],
    ),
    (
        {"webhook_version": "v2"},
        "1150",
        [{"name": "webhook_version", "reason": "must be one of v0.1, v1; got 'v2'"}],
    ),
]


@pytest.mark.parametrize(("change", "number", "parameters"), INVALID, ids=lambda v: str(v)[:40])
def test_invalid_sms_gets_the_documents_422(client, change, number, parameters):
    body = {**SMS, **change}
    if body["channel"] is None:
        del body["channel"]
    assert_422(post(client, body), number, parameters)


def test_a_client_ref_of_100_characters_is_accepted(client):
    assert post(client, {**SMS, "client_ref": "x" * 100}).status_code == 202


def test_missing_fields_are_reported_by_their_error_type(client):
    assert_422(post(client, {k: v for k, v in SMS.items() if k != "to"}), "1130")
    assert_422(post(client, {k: v for k, v in SMS.items() if k != "from"}), "1120")
    assert_422(post(client, {k: v for k, v in SMS.items() if k != "message_type"}), "1140")
    assert_422(
        post(client, {k: v for k, v in SMS.items() if k != "text"}),
        "1150",
        [{"name": "text", "reason": "is required"}],
    )


WHATSAPP = {"channel": "whatsapp", "to": "447700900000", "from": "447700900001"}


@pytest.mark.parametrize(
    ("body", "parameters"),
    [
        ({"message_type": "image", "image": {}}, [{"name": "image.url", "reason": "is required"}]),
        (
            {"message_type": "sticker", "sticker": {"name": "x"}},
            [{"name": "sticker.url", "reason": "is required"}],
        ),
        (
            {
                "message_type": "reaction",
                "reaction": {"action": "react"},
                "context": {"message_uuid": "x"},
            },
            [{"name": "reaction.emoji", "reason": "is required"}],
        ),
        (
            {"message_type": "template", "template": {"name": "t"}},
            [{"name": "whatsapp", "reason": "is required"}],
        ),
        (
            {"message_type": "custom", "custom": "x"},
            [{"name": "custom", "reason": "must be an object; got a string"}],
        ),
    ],
    ids=["image", "sticker", "reaction", "template", "custom"],
)
def test_invalid_whatsapp_content(client, body, parameters):
    assert_422(post(client, {**WHATSAPP, **body}), "1150", parameters)


def test_channel_options_of_other_channels(client):
    viber = {
        "channel": "viber_service",
        "message_type": "text",
        "to": "447700900000",
        "from": "Acme",
    }
    action = {"url": "https://example.com", "text": "x" * 31}
    assert_422(
        post(client, {**viber, "text": "hi", "viber_service": {"action": action}}),
        "1110",
        [{"name": "viber_service.action.text", "reason": "must be at most 30 characters; got 31"}],
    )
    rcs = {"channel": "rcs", "message_type": "text", "to": "447700900000", "from": "AcmeRCS"}
    replies = [{"type": "reply", "text": "x", "postback_data": "p"}] * 12
    assert_422(
        post(client, {**rcs, "text": "hi", "suggestions": replies}),
        "1150",
        [{"name": "suggestions", "reason": f"{replies!r} is too long"}],
    )


def test_bad_json_and_non_objects(client):
    response = client.http.post(
        f"{client.url}/v1/messages",
        data=b'{"status": "read",}',
        headers={"Authorization": BASIC, "Content-Type": "application/json"},
    )
    body = assert_422(response, "https://developer.vonage.com/api-errors#invalid-json")
    assert body["title"] == "The request body did not contain valid JSON"
    assert_422(
        post(client, [SMS]),
        "1150",
        [{"name": "(body)", "reason": "must be a JSON object; got an array"}],
    )


def test_gateway_errors_are_problem_json_with_a_request_id(client):
    response = post(client, SMS, authorization="")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert_request_id(response)
    assert set(response.json()) >= {"type", "title", "detail", "instance"}


# magic recipients over the v1 catalogue -----------------------------------------------------------


def test_magic_recipients_come_from_the_v1_catalogue(client):
    """1431 exists in v1's x-errors only: its magic number works for v1 sends."""
    assert 1431 in load_v1().errors and 1431 not in client.sandbox.spec.errors
    v1 = post(client, {**SMS, "to": "15550001431"}).json()["message_uuid"]
    assert (journal(client, v1)["scenario"], journal(client, v1)["rule"]) == ("error-codes", "1431")
    v0 = client.send(
        {
            "from": {"type": "sms", "number": "Acme"},
            "to": {"type": "sms", "number": "15550001431"},
            "message": {"content": {"type": "text", "text": "hi"}},
        }
    ).json()["message_uuid"]
    assert journal(client, v0)["scenario"] == "default"


@pytest.mark.parametrize("status", [402, 429, 500])
def test_http_magic_recipients_answer_problem_json(client, status):
    response = post(client, {**SMS, "to": f"15550000{status}"})
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert_request_id(response)
    assert ("Retry-After" in response.headers) == (status == 429)


# PATCH --------------------------------------------------------------------------------------------

RCS = {
    "channel": "rcs",
    "message_type": "text",
    "to": "447700900000",
    "from": "AcmeRCS",
    "text": "hi",
}


def whatsapp_inbound(client):
    inbound = {"channel": "whatsapp", "from": "447700900000", "to": "447700900001"}
    return client.http.post(f"{client.url}/_sandbox/inbound", json=inbound).json()["message_uuid"]


def test_revoking_an_undelivered_rcs_message(client):
    app = bearer("app-v1")  # the same application sends and revokes: PATCH sees its own only
    message_uuid = post(client, RCS, authorization=app).json()["message_uuid"]
    response = patch(client, message_uuid, {"status": "revoked"}, authorization=app)
    assert (response.status_code, response.content) == (202, b"")
    assert_request_id(response)
    assert journal(client, message_uuid)["status"] == "revoked"


def test_revoking_a_delivered_message_is_refused(client):
    message_uuid = post(client, RCS).json()["message_uuid"]
    client.sandbox.store.set_status(message_uuid, "delivered")  # as its status webhook would
    reason = "cannot be revoked: the message was already delivered"
    assert_422(
        patch(client, message_uuid, {"status": "revoked"}),
        "1150",
        [{"name": "status", "reason": reason}],
    )


def test_marking_an_inbound_whatsapp_message_read_with_a_replying_indicator(client):
    message_uuid = whatsapp_inbound(client)
    body = {"status": "read", "replying_indicator": {"show": True, "type": "text"}}
    response = patch(client, message_uuid, body)
    assert (response.status_code, response.content) == (202, b"")
    assert journal(client, message_uuid)["status"] == "read"


def test_the_patch_oneof_fault_does_not_refuse_read(client):
    """The document's oneOf refuses {"status": "read"} (both branches match it)."""
    schema = load_v1().spec.document["components"]["requestBodies"]["UpdateMessage"]
    from jsonschema import Draft4Validator

    strict = Draft4Validator(schema["content"]["application/json"]["schema"])
    assert not strict.is_valid({"status": "read"})
    assert patch(client, whatsapp_inbound(client), {"status": "read"}).status_code == 202


def test_patch_refusals(client):
    inbound = whatsapp_inbound(client)
    outbound_whatsapp = post(client, {**WHATSAPP, "message_type": "text", "text": "hi"}).json()
    sms = post(client, SMS).json()["message_uuid"]
    assert patch(client, str(uuid.uuid4()), {"status": "read"}).status_code == 404
    assert_422(patch(client, sms, {"status": "read"}), "1100")
    assert_422(
        patch(client, outbound_whatsapp["message_uuid"], {"status": "read"}),
        "1150",
        [
            {
                "name": "status",
                "reason": "can be set to read on an inbound message only; this one is outbound",
            }
        ],
    )
    assert_422(
        patch(client, inbound, {"status": "revoked"}),
        "1150",
        [{"name": "status", "reason": "must be one of read; got 'revoked'"}],
    )
    assert_422(
        patch(client, inbound, {"status": "deleted"}),
        "1150",
        [{"name": "status", "reason": "must be one of read, revoked; got 'deleted'"}],
    )
    indicator = {"status": "read", "replying_indicator": {"show": "yes", "type": "text"}}
    assert_422(
        patch(client, inbound, indicator),
        "1150",
        [{"name": "replying_indicator.show", "reason": "must be a boolean; got a string"}],
    )
    published = next(c for c in CURL if c["source"].endswith("mark-as-read.sh"))
    assert_422(
        patch(client, inbound, None, data=published["body"].encode()),
        "https://developer.vonage.com/api-errors#invalid-json",
    )


def test_the_journal_copy_of_a_request_is_the_request(client):
    body = copy.deepcopy(SMS) | {"client_ref": "ref-1", "webhook_url": "https://example.com/s"}
    message_uuid = post(client, body).json()["message_uuid"]
    entry = journal(client, message_uuid)
    assert (entry["client_ref"], entry["request"]) == ("ref-1", body)


def test_every_answer_under_v1_carries_a_request_id(client):
    wrong_verb = client.http.get(f"{client.url}/v1/messages", headers={"Authorization": BASIC})
    assert wrong_verb.status_code == 405
    assert_request_id(wrong_verb)
    no_route = client.http.post(f"{client.url}/v1/other", json={}, headers={"Authorization": BASIC})
    assert no_route.status_code == 404
    assert uuid.UUID(no_route.headers["X-Request-Id"]).hex == no_route.json()["instance"]
    assert "X-Request-Id" not in client.send(SMS).headers  # v0.1 answers as it always did


def test_the_pytest_fixture_offers_the_v1_base_url(messages_sandbox):
    """``messages_sandbox.v1_url`` is what an SDK takes as its host (Node ``apiHost``)."""
    import requests

    auth = (messages_sandbox.api_key, messages_sandbox.api_secret)
    response = requests.post(messages_sandbox.v1_url + "/v1/messages", json=SMS, auth=auth)
    assert response.status_code == 202
    sent = messages_sandbox.message(response.json()["message_uuid"])
    assert (sent["api_key"], sent["request"]) == (messages_sandbox.api_key, SMS)


def test_scenarios_are_chosen_for_v1_sends_as_for_v0_1(client):
    body = {**WHATSAPP, "message_type": "text", "text": "hi", "to": "15550009000"}
    sent = post(client, body, headers={"X-Sandbox-Scenario": "conversational"}).json()
    entry = journal(client, sent["message_uuid"])
    assert (entry["scenario"], entry["rule"]) == ("conversational", "replies-to-text")
    unknown = post(client, SMS, headers={"X-Sandbox-Scenario": "no-such-scenario"})
    assert unknown.status_code == 400
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert_request_id(unknown)
