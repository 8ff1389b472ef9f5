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


def test_a_v1_body_goes_to_v1(messages_sandbox):
    v1 = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "Acme",
          "text": "Your code is 1234"}
    status, body = messages_sandbox.send(v1)
    assert status == 202
    delivered = messages_sandbox.wait_for_status(body["message_uuid"], "delivered")
    assert (delivered["channel"], delivered["to"]) == ("sms", "447700900000")  # v1's shape
    assert messages_sandbox.message(body["message_uuid"])["api_version"] == "v1"
    assert messages_sandbox.send(v1, api="v0.1")[0] == 400  # not a v0.1 body
"""


@pytest.mark.parametrize("clock", ["manual", "fast"])
def test_plugin_fixture_in_a_fresh_project(pytester, clock):
    pytester.makepyfile(test_app=SAMPLE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--messages-sandbox-clock={clock}"
    )
    result.assert_outcomes(passed=6)


def test_plugin_against_a_running_sandbox(pytester, start_sandbox):
    running = start_sandbox(speed=10, admin_token="t0ken")  # e.g. a container in CI
    pytester.makepyfile(test_app=SAMPLE)
    result = pytester.runpytest_subprocess(
        f"--messages-sandbox-url={running.url}", "--messages-sandbox-admin-token=t0ken"
    )
    result.assert_outcomes(passed=6)


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


SHARED = """
import os, pathlib, time

SYNC = pathlib.Path(os.environ["SANDBOX_TEST_SYNC"])
SMS = {"to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "Acme"},
       "message": {"content": {"type": "text", "text": "hi"}}}


def signal(name):
    (SYNC / name).touch()


def await_signal(name):
    # another process's progress, not time: no clock can fake it
    deadline = time.monotonic() + 30
    while not (SYNC / name).exists():
        assert time.monotonic() < deadline, f"the other session never signalled {name}"
        time.sleep(0.02)
"""

SESSION_A = (
    SHARED
    + """
def test_a(messages_sandbox):
    status, body = messages_sandbox.send(SMS)
    assert status == 202
    signal("a-sent")
    await_signal("b-done")  # B has reset, sent and redirected its own webhooks meanwhile
    assert [m["message_uuid"] for m in messages_sandbox.messages()] == [body["message_uuid"]]
    messages_sandbox.wait_for_status(body["message_uuid"], "delivered")
    assert {w["message_uuid"] for w in messages_sandbox.webhooks()} == {body["message_uuid"]}
"""
)

SESSION_B = (
    SHARED
    + """
def test_b(messages_sandbox):
    await_signal("a-sent")
    messages_sandbox.reset()
    assert messages_sandbox.messages() == []  # A's message is not B's to see
    messages_sandbox.use_webhooks(status_url="http://127.0.0.1:9/nowhere")
    status, body = messages_sandbox.send(SMS)
    assert [m["message_uuid"] for m in messages_sandbox.messages()] == [body["message_uuid"]]
    signal("b-done")
"""
)


def test_two_sessions_share_one_sandbox_without_seeing_or_wiping_each_other(
    start_sandbox, tmp_path
):
    import os
    import subprocess
    import sys

    running = start_sandbox(clock="manual")
    processes = []
    for name, source in (("a", SESSION_A), ("b", SESSION_B)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"test_{name}.py").write_text(source)
        env = {**os.environ, "SANDBOX_TEST_SYNC": str(tmp_path)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        processes.append(
            subprocess.Popen(
                [*command, f"--messages-sandbox-url={running.url}", str(folder)],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=90)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "1 passed" in output, output
    # B's webhook went to B's own (dead) URL; A's to the sink: nothing crossed over.
    hooks = running.get("/_sandbox/webhooks").json()["items"]
    urls = {w["url"] for w in hooks if w["url"]}
    assert urls == {running.url + "/_sandbox/sink/status", "http://127.0.0.1:9/nowhere"}
