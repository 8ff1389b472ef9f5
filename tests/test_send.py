"""POST /v0.1/messages over real HTTP: valid sends per channel, journal, response shape."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from sandbox.resources import data_dir

from .samples import VALID, message


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """openapi-core over the shipped document (plus a relative server, for local URLs)."""
    document = yaml.safe_load((data_dir("spec") / "messages-olympus-0.3.1.yml").read_text())
    document["servers"].append({"url": "/v0.1"})
    return OpenAPI.from_dict(document)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_message_is_accepted_with_a_uuid4(client, openapi, name):
    response = client.send(VALID[name])

    assert response.status_code == 202, response.text
    assert response.headers["Content-Type"] == "application/json"
    message_uuid = response.json()["message_uuid"]
    assert uuid.UUID(message_uuid).version == 4
    openapi.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )


@pytest.mark.parametrize("name", sorted(VALID))
def test_request_conforms_to_the_document_too(openapi, client, name):
    # Our samples must be valid for openapi-core as well, or the test above proves little.
    response = client.send(VALID[name])
    openapi.validate_request(RequestsOpenAPIRequest(response.request))


def test_accepted_message_is_journaled_with_principal_and_time(client):
    before = time.time()
    response = client.send(VALID["whatsapp-template"])
    record = client.sandbox.store.get_message(response.json()["message_uuid"])

    assert record["request"] == VALID["whatsapp-template"]
    assert record["api_key"] == "key1"
    assert record["application_id"] is None
    assert before <= record["received_at"] <= time.time()
    assert record["channel"] == "whatsapp"
    assert record["to_addr"] == "447700900000"
    assert record["response_status"] == 202
    assert record["response_body"] == response.json()
    assert record["trace_id"] == response.headers["X-Nexmo-Trace-Id"]


def test_rejected_request_is_not_journaled(client):
    count = client.sandbox.store.count_messages()
    response = client.send(message("sms-text", to__number="+44"))
    assert response.status_code == 400
    assert client.sandbox.store.count_messages() == count


def test_empty_query_string_and_any_query_still_match_the_path(client):
    for path in ("/v0.1/messages?", "/v0.1/messages?foo=bar"):
        response = client.http.post(
            client.url + path, json=VALID["sms-text"], headers={"Authorization": "Bearer x"}
        )
        # A malformed token proves the route was matched (404 would mean it was not).
        assert response.status_code == 401


def test_every_answer_carries_a_32_hex_trace_id(client):
    response = client.send(VALID["sms-text"])
    trace = response.headers["X-Nexmo-Trace-Id"]
    assert len(trace) == 32 and int(trace, 16) >= 0


def test_file_journal_survives_a_restart(start_sandbox, tmp_path):
    db = str(tmp_path / "journal.db")
    first = start_sandbox(db=db)
    message_uuid = first.send(VALID["sms-text"]).json()["message_uuid"]
    first.server.stop()

    second = start_sandbox(db=db)
    assert second.sandbox.store.get_message(message_uuid)["client_ref"] == "order-42"
