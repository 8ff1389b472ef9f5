"""Stateful channel rules as on-request scenarios: WhatsApp's 24-hour window, SMS opt-out.

Real sandbox on the manual clock; the window moves with ``advance``; both API versions.
"""

from __future__ import annotations

from .conftest import BASIC
from .samples import VALID

WINDOW = {"X-Sandbox-Scenario": "whatsapp-window"}
OPT_OUT = {"X-Sandbox-Scenario": "sms-opt-out"}
BUSINESS, CUSTOMER = "447700900001", "447700900000"
V1_TEXT = {
    "channel": "whatsapp",
    "message_type": "text",
    "to": CUSTOMER,
    "from": BUSINESS,
    "text": "Your order shipped",
}
V1_TEMPLATE = {
    **V1_TEXT,
    "message_type": "template",
    "template": {"name": "order_update", "parameters": ["42"]},
    "whatsapp": {"policy": "deterministic", "locale": "en_GB"},
}
V1_SMS = {"channel": "sms", "message_type": "text", "to": CUSTOMER, "from": BUSINESS, "text": "hi"}


def v1(client, body, headers):
    response = client.http.post(
        f"{client.url}/v1/messages", json=body, headers={"Authorization": BASIC, **headers}
    )
    assert response.status_code == 202, response.text
    return response.json()["message_uuid"]


def inbound(client, channel, text=None, customer=CUSTOMER, business=BUSINESS):
    content = {"type": "text", "text": text} if text else None
    body = {"channel": channel, "from": customer, "to": business, "content": content}
    response = client.http.post(f"{client.url}/_sandbox/inbound", json={**body, "api_key": "key1"})
    assert response.status_code == 201, response.text


def final_status(client, message_uuid):
    client.sandbox.advance(30)
    events = client.sandbox.store.events_for(message_uuid)
    last = events[-1]
    return last["status"], (client.sandbox.store.get_message(message_uuid)["rule"])


def test_whatsapp_window_opens_with_the_customers_message_and_closes_after_24_hours(manual):
    assert final_status(manual, v1(manual, V1_TEXT, WINDOW)) == ("rejected", "outside-window")
    assert final_status(manual, v1(manual, V1_TEMPLATE, WINDOW))[0] == "read"  # always allowed

    inbound(manual, "whatsapp", "Where is my order?")
    assert final_status(manual, v1(manual, V1_TEXT, WINDOW))[0] == "read"

    manual.sandbox.advance(24 * 3600)
    assert final_status(manual, v1(manual, V1_TEXT, WINDOW)) == ("rejected", "outside-window")


def test_whatsapp_window_rejection_is_1340_in_each_versions_shape(manual, receiver):
    message_uuid = v1(manual, V1_TEXT, WINDOW)
    manual.sandbox.advance(30)
    rejected = [r.json for r in receiver.on("/status") if r.json["message_uuid"] == message_uuid]
    assert rejected[-1]["error"]["title"] == "1340"

    request = {**VALID["whatsapp-text"]}
    v01 = manual.send(request, headers=WINDOW).json()["message_uuid"]
    manual.sandbox.advance(30)
    payloads = [r.json for r in receiver.on("/status") if r.json["message_uuid"] == v01]
    assert payloads[-1]["error"]["code"] == 1340


def test_v0_1_sends_use_the_same_window(manual):
    request = VALID["whatsapp-text"]
    customer, business = request["to"]["number"], request["from"]["number"]
    first = manual.send(request, headers=WINDOW).json()["message_uuid"]
    assert final_status(manual, first)[0] == "rejected"
    inbound(manual, "whatsapp", "hello", customer=customer, business=business)
    second = manual.send(request, headers=WINDOW).json()["message_uuid"]
    assert final_status(manual, second)[0] == "read"


def test_sms_stop_opts_the_customer_out_of_that_number_until_start(manual, receiver):
    assert final_status(manual, v1(manual, V1_SMS, OPT_OUT))[0] == "delivered"
    inbound(manual, "sms", "Stop")  # v1-shaped: the business last wrote to them on v1
    opted_out = v1(manual, V1_SMS, OPT_OUT)
    assert final_status(manual, opted_out) == ("rejected", "opted-out")
    error = [r.json for r in receiver.on("/status") if r.json["message_uuid"] == opted_out][-1]
    assert error["error"]["title"] == "1240"
    # another number of the business may still write to them
    assert final_status(manual, v1(manual, {**V1_SMS, "from": "Acme"}, OPT_OUT))[0] == "delivered"
    inbound(manual, "sms", "START")
    assert final_status(manual, v1(manual, V1_SMS, OPT_OUT))[0] == "delivered"


def test_a_reset_forgets_windows_and_opt_outs(manual):
    inbound(manual, "whatsapp", "hi")
    manual.http.post(f"{manual.url}/_sandbox/reset", json={})
    assert final_status(manual, v1(manual, V1_TEXT, WINDOW))[0] == "rejected"


def test_viber_first_message_must_not_be_promotional(manual):
    rules = {"X-Sandbox-Scenario": "viber-rules"}
    promo = {
        "channel": "viber_service",
        "message_type": "text",
        "to": CUSTOMER,
        "from": "Acme",
        "text": "50% off today",
        "viber_service": {"category": "promotion"},
    }
    assert final_status(manual, v1(manual, promo, rules)) == (
        "rejected",
        "first-message-promotional",
    )
    other = {**promo, "to": "447700900555"}
    transaction = {k: v for k, v in other.items() if k != "viber_service"}
    assert final_status(manual, v1(manual, transaction, rules))[0] == "read"
    assert final_status(manual, v1(manual, other, rules))[0] == "read"  # not the first any more
