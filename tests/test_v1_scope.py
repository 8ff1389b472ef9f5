"""v1 sees only its caller's own messages (parallel sessions, issue #9 §5), and checks
every webhook_url it is given (a failover's too)."""

from __future__ import annotations

import base64

import pytest

from .tokens import bearer

SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "Acme", "text": "hi"}
WHATSAPP = {"channel": "whatsapp", "from": "447700900000", "to": "447700900001"}
REFUSED_URLS = ["gopher://127.0.0.1:70/x", "http://127.0.0.1:{port}/_sandbox/reset"]


def basic(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:secret".encode()).decode()


def inject(client, **scope) -> str:
    response = client.http.post(f"{client.url}/_sandbox/inbound", json={**WHATSAPP, **scope})
    assert response.status_code == 201, response.text
    return response.json()["message_uuid"]


def mark_read(client, message_uuid, authorization):
    return client.http.patch(
        f"{client.url}/v1/messages/{message_uuid}",
        json={"status": "read"},
        headers={"Authorization": authorization},
    )


def status(client, message_uuid) -> str:
    return client.get(f"/_sandbox/messages/{message_uuid}").json()["status"]


def test_another_api_keys_message_is_not_found(client):
    alices = inject(client, api_key="alice")
    before = status(client, alices)
    refused = mark_read(client, alices, basic("bob"))
    assert refused.status_code == 404
    assert refused.json()["detail"] == f"There is no message with message_uuid {alices}."
    assert status(client, alices) == before
    assert mark_read(client, alices, basic("alice")).status_code == 202
    assert status(client, alices) == "read"


def test_another_applications_message_is_not_found(client):
    apps = inject(client, application_id="app-a")
    assert mark_read(client, apps, bearer("app-b")).status_code == 404
    assert mark_read(client, apps, basic("app-b")).status_code == 404
    assert mark_read(client, apps, bearer("app-a")).status_code == 202


def test_a_message_injected_for_no_scope_is_everyones(client):
    assert mark_read(client, inject(client), basic("carol")).status_code == 202


def send(client, body):
    return client.http.post(
        f"{client.url}/v1/messages", json=body, headers={"Authorization": basic("alice")}
    )


def refused_url(client, template: str) -> str:
    return template.format(port=client.server.port)


@pytest.mark.parametrize("template", REFUSED_URLS)
def test_a_refused_webhook_url_is_a_422_naming_it(client, template):
    response = send(client, {**SMS, "webhook_url": refused_url(client, template)})
    assert response.status_code == 422, response.text
    names = [p["name"] for p in response.json()["invalid_parameters"]]
    assert names == ["webhook_url"]


@pytest.mark.parametrize("template", REFUSED_URLS)
def test_a_failover_messages_refused_webhook_url_is_a_422_naming_it(client, template):
    failover = {**SMS, "webhook_url": refused_url(client, template)}
    response = send(client, {**SMS, "failover": [failover]})
    assert response.status_code == 422, response.text
    names = [p["name"] for p in response.json()["invalid_parameters"]]
    assert names == ["failover[0].webhook_url"]
