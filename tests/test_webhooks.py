"""Status and inbound webhooks end to end: a real sandbox, a real receiver, both on loopback."""

from __future__ import annotations

import hashlib
import re
import time

import jwt
import pytest

from sandbox.spec import Spec

from .receiver import Behaviour, Receiver
from .samples import VALID, message
from .tokens import applications, bearer

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LIFECYCLES = {
    "sms-text": ["submitted", "delivered"],
    "mms-image": ["submitted", "delivered"],
    "viber-text": ["submitted", "delivered"],
    "whatsapp-template": ["submitted", "delivered", "read"],
    "messenger-text": ["submitted", "delivered", "read"],
}


@pytest.fixture(scope="module")
def schemas():
    spec = Spec.load()
    return {"status": spec.validator("MessageStatus"), "inbound": spec.validator("InboundMessage")}


def statuses(receiver, message_uuid: str) -> list[dict]:
    return [r.json for r in receiver.on("/status") if r.json["message_uuid"] == message_uuid]


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_default_lifecycle_per_channel(manual, receiver, schemas, name):
    request = VALID[name]
    message_uuid = manual.send(request).json()["message_uuid"]
    assert receiver.received == []  # the manual clock has not moved: nothing is due yet

    manual.sandbox.advance(60)

    payloads = statuses(receiver, message_uuid)
    assert [p["status"] for p in payloads] == LIFECYCLES[name]
    times = [p["timestamp"] for p in payloads]
    assert times == sorted(times) and all(TIMESTAMP.fullmatch(t) for t in times)
    for payload in payloads:
        schemas["status"].validate(payload)
        assert payload["to"] == request["to"] and payload["from"] == request["from"]
        assert payload.get("client_ref") == request.get("client_ref")
        assert ("usage" in payload) == (name == "sms-text" and payload["status"] == "submitted")


def test_statuses_are_journaled_and_the_message_status_follows(manual, receiver):
    message_uuid = manual.send(VALID["whatsapp-text"]).json()["message_uuid"]
    manual.sandbox.advance(60)
    events = manual.sandbox.store.events_for(message_uuid)
    assert [e["state"] for e in events] == ["delivered"] * 3
    assert all(e["attempts"] == 1 for e in events)
    assert manual.sandbox.store.get_message(message_uuid)["status"] == "read"


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("a" * 160, "0.0333"),  # one GSM-7 part
        ("a" * 161, "0.0666"),  # two parts of 153
        ("{" * 80, "0.0333"),  # extension characters count twice: 160 septets
        ("{" * 81, "0.0666"),
        ("é" * 70 + "✅", "0.0666"),  # one non-GSM character: UCS-2, 71 > 70
        ("✅" * 70, "0.0333"),
        ("✅" * 135, "0.0999"),  # 135 > 134 = 2 x 67: three parts
    ],
)
def test_sms_usage_is_priced_per_segment(manual, receiver, text, price):
    body = message("sms-text", message__content__text=text)
    message_uuid = manual.send(body).json()["message_uuid"]
    manual.sandbox.advance(1)
    (submitted,) = statuses(receiver, message_uuid)
    assert submitted["usage"] == {"currency": "EUR", "price": price}


def test_failed_webhooks_are_retried_on_backoff_in_order(manual, receiver):
    receiver.answer(Behaviour(500), Behaviour(503))
    message_uuid = manual.send(VALID["sms-text"]).json()["message_uuid"]
    start = manual.sandbox.clock.now()

    manual.sandbox.advance(1)  # submitted: 500
    manual.sandbox.advance(5)  # retry after 5 s: 503; delivered has occurred, waits
    assert [p["status"] for p in statuses(receiver, message_uuid)] == ["submitted"] * 2
    manual.sandbox.advance(10)  # retry after 10 s: 200, then delivered goes out

    payloads = statuses(receiver, message_uuid)
    assert [p["status"] for p in payloads] == ["submitted", "submitted", "submitted", "delivered"]
    submitted, delivered = manual.sandbox.store.events_for(message_uuid)
    attempts = manual.sandbox.store.attempts_for(submitted["id"])
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 503", None]
    gaps = [round(b["at"] - a["at"], 3) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == [5.0, 10.0]
    assert attempts[0]["url"] == receiver.url + "/status" and attempts[0]["at"] >= start
    assert delivered["state"] == "delivered" and submitted["state"] == "delivered"


def test_timeouts_and_dropped_connections_are_retried(start_sandbox, receiver):
    client = start_sandbox(clock="manual", status_url=receiver.url + "/s", webhook_timeout=0.3)
    receiver.answer(Behaviour(200, delay=1.0), Behaviour(drop=True))
    message_uuid = client.send(VALID["viber-text"]).json()["message_uuid"]
    client.sandbox.advance(1)
    client.sandbox.advance(5)
    client.sandbox.advance(10)
    submitted = client.sandbox.store.events_for(message_uuid)[0]
    errors = [a["error"] for a in client.sandbox.store.attempts_for(submitted["id"])]
    assert errors == ["timed out after 0.3s", "connection closed by the receiver", None]


def test_dead_receiver_is_given_up_after_the_retry_window(start_sandbox):
    client = start_sandbox(clock="manual", status_url="http://127.0.0.1:9/status", retry_for=1000)
    message_uuid = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(3000)

    submitted, delivered = client.sandbox.store.events_for(message_uuid)
    attempts = client.sandbox.store.attempts_for(submitted["id"])
    gaps = [round(b["at"] - a["at"]) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == [5, 10, 20, 40, 80, 160, 320, 640]  # the 9th try is past 1000 s: given up
    assert {a["error"] for a in attempts} == {"connection refused"}
    assert submitted["state"] == "failed"
    assert delivered["state"] == "failed"  # its turn came after the give-up; it failed alone


def test_backoff_is_capped(start_sandbox):
    client = start_sandbox(clock="manual", status_url="http://127.0.0.1:9/s", retry_for=3000)
    message_uuid = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(4000)
    event = client.sandbox.store.events_for(message_uuid)[0]
    attempts = client.sandbox.store.attempts_for(event["id"])
    gaps = [round(b["at"] - a["at"]) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:9] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert set(gaps[9:]) <= {900}


def test_slow_receivers_do_not_delay_another(start_sandbox, receiver):
    slow = [Receiver() for _ in range(6)]
    for each in slow:
        each.default = Behaviour(200, delay=3.0)
    try:
        client = start_sandbox(
            speed=1000,
            webhook_timeout=5,
            applications=applications(
                fast=receiver.url + "/s", **{f"slow{i}": r.url + "/s" for i, r in enumerate(slow)}
            ),
        )
        for i in range(6 * 8):  # six slow hosts, eight messages each: 48 deliveries hang
            client.send(VALID["sms-text"], bearer(f"slow{i % 6}"))
        started = time.time()
        message_uuid = client.send(VALID["sms-text"], bearer("fast")).json()["message_uuid"]
        receiver.wait_for(2, "/s", timeout=2.5)
        assert time.time() - started < 2.5  # well before the slow receiver answered anything
        assert [p["status"] for p in statuses_at(receiver, "/s", message_uuid)] == [
            "submitted",
            "delivered",
        ]
    finally:
        for each in slow:
            each.stop()


def test_callback_overrides_and_no_url_still_journals(start_sandbox, receiver):
    client = start_sandbox(clock="manual")
    with_callback = message("sms-text", callback=receiver.url + "/mine")
    first = client.send(with_callback).json()["message_uuid"]
    second = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(60)

    assert [p["status"] for p in statuses_at(receiver, "/mine", first)] == [
        "submitted",
        "delivered",
    ]
    events = client.sandbox.store.events_for(second)
    assert [e["state"] for e in events] == ["unsent", "unsent"]
    assert all(e["payload"] for e in events)


def test_application_urls_follow_the_jwt_principal(start_sandbox, receiver):
    client = start_sandbox(
        clock="manual",
        status_url=receiver.url + "/default",
        applications=applications(app=receiver.url + "/app"),
    )
    by_app = client.send(VALID["sms-text"], bearer("app")).json()["message_uuid"]
    by_key = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(60)
    assert len(statuses_at(receiver, "/app", by_app)) == 2
    assert len(statuses_at(receiver, "/default", by_key)) == 2


def test_signed_webhooks_verify_with_pyjwt(start_sandbox, receiver):
    secret = "a-signature-secret-of-32-bytes-or-more"
    client = start_sandbox(
        clock="manual", status_url=receiver.url + "/status", signature_secret=secret
    )
    client.send(VALID["sms-text"])
    client.sandbox.advance(60)

    for request in receiver.wait_for(2, "/status"):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, secret, algorithms=["HS256"])
        assert claims["payload_hash"] == hashlib.sha256(request.body).hexdigest()
        assert claims["iss"] == "Vonage" and claims["api_key"] == "key1"
        assert {"iat", "jti", "application_id"} <= set(claims)


def test_bodies_are_serialised_like_json_stringify(manual, receiver):
    manual.sandbox.inbound(
        "whatsapp", "447700900000", "14157386170", {"type": "text", "text": "Olá ✅"}
    )
    (request,) = receiver.wait_for(1, "/inbound")
    assert "Olá ✅".encode() in request.body and b"\\u" not in request.body
    assert b": " not in request.body and b", " not in request.body
    import json

    assert (
        json.dumps(request.json, separators=(",", ":"), ensure_ascii=False).encode() == request.body
    )


@pytest.mark.parametrize("kind", ["text", "image", "audio", "video", "file", "location"])
def test_inbound_messages_are_spec_shaped_and_faker_filled(manual, receiver, schemas, kind):
    channel = "messenger" if kind != "location" else "whatsapp"
    manual.sandbox.inbound(channel, "1234567890", "107083064136738", {"type": kind})
    (request,) = receiver.wait_for(1, "/inbound")
    payload = request.json
    schemas["inbound"].validate(payload)
    assert payload["direction"] == "inbound"
    assert payload["message"]["content"]["type"] == kind
    assert payload["from"]["type"] == channel and payload["to"]["type"] == channel
    content = payload["message"]["content"]
    assert content["text"] if kind == "text" else content[kind]


def test_mms_inbound_goes_to_numbers(manual, receiver):
    manual.sandbox.inbound("mms", "14155550100", "12345", {"type": "image"})
    payload = receiver.wait_for(1, "/inbound")[0].json
    assert payload["from"] == {"type": "mms", "number": "14155550100"}
    assert payload["message"]["content"]["image"]["url"].endswith(".jpg")


def test_same_seed_same_content(start_sandbox, receiver):
    runs = []
    for run in range(2):
        client = start_sandbox(clock="manual", seed=7, inbound_url=receiver.url + f"/in{run}")
        sent = client.send(VALID["sms-text"]).json()["message_uuid"]
        for kind in ("text", "location"):
            client.sandbox.inbound("whatsapp", "447700900000", "14157386170", {"type": kind})
        # Two independent messages: ordered per message only, so compare them as a set.
        inbound = sorted(
            (r.json["message_uuid"], r.json["message"]) for r in receiver.wait_for(2, f"/in{run}")
        )
        runs.append((sent, inbound))
    assert runs[0] == runs[1]
    other = start_sandbox(seed=8).send(VALID["sms-text"]).json()["message_uuid"]
    assert other != runs[0][0]


def test_speed_runs_the_lifecycle_faster(start_sandbox, receiver):
    client = start_sandbox(speed=100, status_url=receiver.url + "/status")
    started = time.time()
    message_uuid = client.send(VALID["whatsapp-text"]).json()["message_uuid"]
    receiver.wait_for(3, "/status", timeout=5)
    assert [p["status"] for p in statuses(receiver, message_uuid)] == [
        "submitted",
        "delivered",
        "read",
    ]
    assert time.time() - started < 1.0  # unscaled, the script takes 7 to 12 seconds


@pytest.mark.allows_invalid_payloads
def test_invalid_payload_is_journaled_as_a_bug_and_not_sent(manual, receiver, monkeypatch):
    # Scenario files cannot ask for a payload the spec refuses (their check stops them), so
    # a sandbox bug is simulated: the builder drops a required field for 'submitted'.
    import sandbox.versions.v0_1 as webhooks

    real = webhooks.status_payload

    def buggy(*args, **kwargs):
        payload = real(*args, **kwargs)
        if payload["status"] == "submitted":
            del payload["timestamp"]
        return payload

    monkeypatch.setattr(webhooks, "status_payload", buggy)
    message_uuid = manual.send(VALID["sms-text"]).json()["message_uuid"]
    manual.sandbox.advance(10)
    broken, delivered = manual.sandbox.store.events_for(message_uuid)
    assert broken["state"] == "invalid"
    assert "'timestamp' is a required property" in broken["problem"]
    assert [p["status"] for p in statuses(receiver, message_uuid)] == ["delivered"]


# helpers -------------------------------------------------------------------------------


def statuses_at(receiver, path: str, message_uuid: str) -> list[dict]:
    return [r.json for r in receiver.on(path) if r.json["message_uuid"] == message_uuid]


@pytest.mark.allows_invalid_payloads
def test_one_failing_event_does_not_strand_the_others_due_with_it(manual, receiver, monkeypatch):
    sent = [manual.send(VALID["sms-text"]).json()["message_uuid"] for _ in range(3)]
    lifecycle = manual.sandbox.lifecycle
    real, real_batch = lifecycle.occur, lifecycle.occur_batch
    broken = sent[1]

    def occur(due):
        if due.message_uuid == broken:
            raise RuntimeError("simulated failure")  # a bug outside occur's own guard
        return real(due)

    def occur_batch(dues):  # the whole batch fails; the dispatcher goes one by one
        if any(due.message_uuid == broken for due in dues):
            raise RuntimeError("simulated failure")
        return real_batch(dues)

    monkeypatch.setattr(lifecycle, "occur", occur)
    monkeypatch.setattr(lifecycle, "occur_batch", occur_batch)
    manual.sandbox.advance(30)  # all three messages' events fall due together
    for message_uuid in (sent[0], sent[2]):
        assert [p["status"] for p in statuses(receiver, message_uuid)] == ["submitted", "delivered"]
    states = [e["state"] for e in manual.sandbox.store.events_for(broken)]
    assert states == ["invalid", "invalid"]  # journaled as the bugs they are, never left behind
    assert (
        "RuntimeError: simulated failure" in manual.sandbox.store.events_for(broken)[0]["problem"]
    )


def test_a_reset_while_an_event_is_being_built_sends_nothing(manual, receiver, monkeypatch):
    import threading

    building, proceed = threading.Event(), threading.Event()
    real = manual.sandbox.webhooks.build

    def slow_build(*args):
        building.set()
        proceed.wait(5)
        return real(*args)

    monkeypatch.setattr(manual.sandbox.webhooks, "build", slow_build)
    manual.send(VALID["sms-text"])
    mover = threading.Thread(target=manual.sandbox.advance, args=(30,))
    mover.start()
    assert building.wait(5)
    assert manual.http.post(manual.url + "/_sandbox/reset").status_code == 200
    proceed.set()
    mover.join(10)
    assert receiver.received == []
    assert manual.sandbox.store.query("SELECT * FROM attempts") == []


def test_a_failure_while_sending_is_retried_in_order(start_sandbox, receiver, monkeypatch):
    client = start_sandbox(
        clock="manual", status_url=receiver.url + "/s", signature_secret="s" * 32
    )
    real, calls = client.sandbox.dispatcher.senders.signer, []

    def flaky_signer(delivery):
        calls.append(delivery.event_id)
        if len(calls) == 1:
            raise RuntimeError("signing failed once")
        return real(delivery)

    monkeypatch.setattr(client.sandbox.dispatcher.senders, "signer", flaky_signer)
    message_uuid = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(60)
    assert [p["status"] for p in statuses_at(receiver, "/s", message_uuid)] == [
        "submitted",
        "delivered",
    ]
    assert len(calls) == 3 and calls[0] == calls[1]  # the failed one was tried again first


def test_the_first_attempt_time_survives_a_restart(start_sandbox, tmp_path):
    db = str(tmp_path / "j.db")
    first = start_sandbox(db=db, clock="manual", status_url="http://127.0.0.1:9/s")
    message_uuid = first.send(VALID["sms-text"]).json()["message_uuid"]
    first.sandbox.advance(20)  # submitted: tried at +0.5, +5.5, +15.5
    started = first.sandbox.store.events_for(message_uuid)[0]["first_attempt_at"]
    first.server.stop()

    second = start_sandbox(db=db, clock="manual", status_url="http://127.0.0.1:9/s")
    (task,) = [chain[0] for chain in second.sandbox.dispatcher.senders.chains.values()]
    assert task.delivery.first_attempt_at == started  # the 24-hour window runs from the 1st try
    assert task.delivery.attempts >= 3  # (it resumes at once, so a 4th may already have happened)
