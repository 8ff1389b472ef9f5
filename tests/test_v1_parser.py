"""The v1 adapter in-process: a published body becomes the neutral Message, failovers too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.message import Message
from sandbox.problems import Problem
from sandbox.versions.v1 import V1Parser
from sandbox.versions.v1_document import load_v1
from sandbox.versions.v1_errors import V1Errors

CURL = json.loads((Path(__file__).parent / "published" / "v1" / "curl.json").read_text())


@pytest.fixture(scope="module")
def parser() -> V1Parser:
    document = load_v1()
    return V1Parser(document, V1Errors(document))


def published(name: str) -> dict:
    return next(c["body"] for c in CURL if c["source"].endswith(name))


def test_a_failover_body_becomes_a_message_with_its_failover_messages(parser):
    body = published("send-message-with-failover.sh")
    message = parser.message(body)
    assert message == Message(
        api_version="v1",
        channel="rcs",
        to="447700900000",
        sender="AcmeRCS",
        content_type="text",
        content={"text": body["text"]},
        webhook_version="v1",
        webhook_version_given=False,  # left to the application's setting (default v1)
        request=body,
        failover=(parser.message(body["failover"][0]),),
        to_kind="number",
        sender_kind="id",
    )
    assert message.failover[0].channel == "sms" and message.failover[0].failover == ()


def test_webhook_settings_and_client_ref_are_kept(parser):
    body = {
        **published("sms/send-sms.sh"),
        "client_ref": "order-1",
        "webhook_url": "https://example.com/status",
        "webhook_version": "v0.1",
    }
    message = parser.message(body)
    assert (message.client_ref, message.webhook_url, message.webhook_version) == (
        "order-1",
        "https://example.com/status",
        "v0.1",
    )


def test_the_content_is_the_types_own_part(parser):
    body = published("whatsapp/send-sticker-url.sh")
    message = parser.message(body)
    assert (message.content_type, message.content) == ("sticker", {"sticker": body["sticker"]})
    assert parser.message(published("messenger/send-text.sh")).to_kind == "number"


def test_a_refusal_is_a_problem_with_the_documents_type(parser):
    with pytest.raises(Problem) as refused:
        parser.message({**published("sms/send-sms.sh"), "ttl": "soon"})
    assert (refused.value.status, refused.value.media_type) == (422, "application/json")
    assert refused.value.type.endswith("messages#1110")
    assert [p.as_dict() for p in refused.value.invalid_parameters] == [
        {"name": "ttl", "reason": "must be an integer; got a string"}
    ]


def test_it_is_a_request_parser_of_the_version_registry(parser):
    from sandbox.versions import RequestParser

    registered: RequestParser = parser  # what versions.register(…, parser=…) takes
    body = published("sms/send-sms.sh")
    assert registered.parse(body) == parser.message(body)


def test_a_failover_messages_own_failover_is_an_ignored_unknown_field(parser):
    body = published("send-message-with-failover.sh")
    nested = {**body["failover"][0], "failover": [{"anything": True}]}
    message = parser.message({**body, "failover": [nested]})
    assert message.failover[0].failover == ()
