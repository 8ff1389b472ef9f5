"""`messages-sandbox serve` as a real process: starts, logs each request, stops on signals."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import pytest
import requests

from .conftest import BASIC
from .processes import serve_command
from .samples import VALID


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_logs_requests_and_stops_cleanly(spawn, signum):
    process = spawn(serve_command())
    url = process.wait_until_healthy()

    response = requests.post(
        url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
    )
    assert response.status_code == 202
    trace = response.headers["X-Nexmo-Trace-Id"]
    process.wait_for_line(rf'"POST /v0.1/messages" 202 [0-9.]+ms trace={trace}')

    assert process.stop(signum) == 0
    process.wait_for_line("Messages Sandbox stopped")


STOP_ROUNDS = 20
STOP_WITHIN = 5.0  # seconds from the signal to the exit


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_every_serve_stops_on_its_first_signal(spawn, signum):
    """A review saw one server in 30 ignore its first SIGINT: each of these must exit 0."""
    for round_ in range(STOP_ROUNDS):
        process = spawn(serve_command())
        url = process.wait_until_healthy()
        response = requests.post(
            url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
        )
        assert response.status_code == 202
        process.proc.send_signal(signum)
        try:
            code = process.proc.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"round {round_}: still running {STOP_WITHIN} s after {signum.name}")
        assert code == 0, f"round {round_}: exit {code}"


def test_environment_configures_the_server(spawn):
    process = spawn(serve_command(), env={"SANDBOX_MAX_BODY": "100"})
    url = process.wait_until_healthy()
    response = requests.post(
        url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
    )
    assert response.status_code == 413
    process.stop()


def test_serve_accepts_the_fast_clock(spawn):
    process = spawn(serve_command("--clock", "fast"))
    url = process.wait_until_healthy()
    response = requests.post(
        url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
    )
    assert response.status_code == 202
    assert process.stop() == 0


def test_serve_help_shows_every_flag_its_default_and_variable():
    from sandbox.config import OPTIONS

    result = run_cli("serve", "--help")
    assert result.returncode == 0, result.stderr
    entries = re.split(r"\n  (?=-)", result.stdout)  # an option's entry starts a line
    lines = {entry.split()[0]: " ".join(entry.split()) for entry in entries}
    for option in OPTIONS:
        line = lines[option.flag]
        assert f"[env: {option.env}]" in line, line
        if option.default not in (None, {}, ()):
            assert f"[default: {option.default}]" in line, line
    assert "--clock [real|manual|fast]" in result.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--clock", "slow"], "Invalid value for '--clock': 'slow' is not one of 'real', 'manual'"),
        (["--port", "http"], "Invalid value for '--port': invalid literal for int()"),
        (["--application-key", "nokey"], "Invalid value for '--application-key': expected NAME="),
        (["--config", "/nonexistent.yaml"], "config file /nonexistent.yaml"),
        (["--spec", "/nonexistent.yml"], "/nonexistent.yml"),
    ],
)
def test_bad_configuration_exits_2_with_a_message(flags, message):
    result = subprocess.run(serve_command(*flags), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_port_in_use_exits_2(spawn):
    process = spawn(serve_command())
    url = process.wait_until_healthy()
    port = url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "cannot listen" in result.stderr
    process.stop()


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_inbound_and_messages_helpers(start_sandbox):
    from .samples import message

    client = start_sandbox(clock="manual")
    client.send(message("sms-text", client_ref="cli-ref"))
    injected = run_cli("inbound", "--text", "Hello from the CLI", env={"SANDBOX_URL": client.url})
    assert injected.returncode == 0, injected.stderr
    message_uuid = injected.stdout.strip()
    stored = client.sandbox.store.get_message(message_uuid)
    assert stored["direction"] == "inbound" and stored["channel"] == "whatsapp"

    listed = run_cli("messages", "--url", client.url)
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0 and len(lines) == 2
    assert "inbound" in lines[0] and message_uuid in lines[0]
    assert "sms" in lines[1] and "Acme -> 447700900000" in lines[1] and "ref=cli-ref" in lines[1]
    only_sms = run_cli("messages", "--url", client.url, "--channel", "sms", "--json")
    assert [m["client_ref"] for m in json.loads(only_sms.stdout)] == ["cli-ref"]


def test_helpers_say_what_went_wrong(start_sandbox):
    client = start_sandbox(admin_token="tok")
    bad = run_cli("inbound", "--url", client.url, "--admin-token", "tok", "--channel", "sms")
    assert bad.returncode == 1
    assert "400: Found errors validating 1 of your submitted parameters." in bad.stderr
    assert "channel: must be one of messenger, mms, whatsapp" in bad.stderr
    refused = run_cli("messages", "--url", client.url)
    assert refused.returncode == 1 and "401" in refused.stderr
    down = run_cli("messages", "--url", "http://127.0.0.1:9")
    assert down.returncode == 1 and "cannot reach the sandbox" in down.stderr
