"""The pytest plugin as another project uses it: only `pip install` and a test file."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SAMPLE = """
import pytest
from sandbox.client import WaitTimeout

SMS = {
    "to": {"type": "sms", "number": "447700900000"},
    "from": {"type": "sms", "number": "Acme"},
    "message": {"content": {"type": "text", "text": "Your code is 1234"}},
}


def test_send_wait_inject_reset(messages_sandbox):
    status, body = messages_sandbox.send(SMS)
    assert status == 202
    delivered = messages_sandbox.wait_for_status(body["message_uuid"], "delivered")
    assert delivered["status"] == "delivered" and delivered["to"] == SMS["to"]
    assert [m["message_uuid"] for m in messages_sandbox.messages()] == [body["message_uuid"]]

    messages_sandbox.send_inbound(channel="whatsapp", from_="447700900001", text="Hi!")
    inbound = messages_sandbox.wait_for_inbound(channel="whatsapp")
    assert inbound["message"]["content"] == {"type": "text", "text": "Hi!"}
    assert inbound["direction"] == "inbound"

    messages_sandbox.reset()
    assert messages_sandbox.messages() == []


def test_each_test_starts_clean(messages_sandbox):
    assert messages_sandbox.messages() == []


def test_magic_number_error(messages_sandbox):
    status, body = messages_sandbox.send({**SMS, "to": {"type": "sms", "number": "15550001300"}})
    failed = messages_sandbox.wait_for_status(body["message_uuid"], "undeliverable")
    assert failed["error"] == {"code": 1300, "reason": "Not part of the provider network"}


def test_failed_wait_shows_what_arrived(messages_sandbox):
    status, body = messages_sandbox.send(SMS)
    with pytest.raises(WaitTimeout) as caught:
        messages_sandbox.wait_for_status(body["message_uuid"], "read", timeout=0.5)
    text = str(caught.value)
    assert "status delivered of" in text and "status submitted of" in text


def test_webhooks_go_to_my_app(messages_sandbox, tmp_path):
    # The sandbox's own sink stands in for "your app" here: any URL works.
    messages_sandbox.use_webhooks(status_url=messages_sandbox.url + "/_sandbox/sink/my-app")
    status, body = messages_sandbox.send(SMS)
    messages_sandbox.wait_for_status(body["message_uuid"], "delivered")
    urls = {w["url"] for w in messages_sandbox.webhooks(message_uuid=body["message_uuid"])}
    assert urls == {messages_sandbox.url + "/_sandbox/sink/my-app"}
"""


@pytest.mark.parametrize("clock", ["manual", "fast"])
def test_plugin_fixture_in_a_fresh_project(pytester, clock):
    pytester.makepyfile(test_app=SAMPLE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--messages-sandbox-clock={clock}"
    )
    result.assert_outcomes(passed=5)


def test_plugin_against_a_running_sandbox(pytester, start_sandbox):
    running = start_sandbox(speed=10, admin_token="t0ken")  # e.g. a container in CI
    pytester.makepyfile(test_app=SAMPLE)
    result = pytester.runpytest_subprocess(
        f"--messages-sandbox-url={running.url}", "--messages-sandbox-admin-token=t0ken"
    )
    result.assert_outcomes(passed=5)


def test_an_invalid_payload_fails_the_test_that_caused_it(pytester):
    pytester.makeconftest(
        """
import sandbox.versions.v0_1 as webhooks
real = webhooks.status_payload
def broken(*args, **kwargs):
    payload = real(*args, **kwargs)
    payload.pop("timestamp")
    return payload
webhooks.status_payload = broken
"""
    )
    pytester.makepyfile(
        test_broken="""
def test_sends(messages_sandbox):
    status, body = messages_sandbox.send({
        "to": {"type": "sms", "number": "447700900000"},
        "from": {"type": "sms", "number": "Acme"},
        "message": {"content": {"type": "text", "text": "x"}}})
    messages_sandbox.advance(10)
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*payloads that fail the spec*", "*'timestamp' is a required property*"]
    )
