"""`messages-sandbox serve` as a real process: starts, logs each request, stops on signals."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from .conftest import BASIC
from .processes import ServeProcess, serve_command
from .samples import VALID


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_logs_requests_and_stops_cleanly(signum):
    process = ServeProcess(serve_command())
    url = process.wait_until_healthy()

    response = requests.post(
        url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
    )
    assert response.status_code == 202
    trace = response.headers["X-Nexmo-Trace-Id"]
    process.wait_for_line(rf'"POST /v0.1/messages" 202 [0-9.]+ms trace={trace}')

    assert process.stop(signum) == 0
    process.wait_for_line("Messages Sandbox stopped")


def test_environment_configures_the_server():
    process = ServeProcess(serve_command(), env={"SANDBOX_MAX_BODY": "100"})
    url = process.wait_until_healthy()
    response = requests.post(
        url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
    )
    assert response.status_code == 413
    process.stop()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--clock", "fast"], "invalid choice value: 'fast'"),
        (["--application-key", "nokey"], "--application-key: expected NAME=VALUE"),
        (["--config", "/nonexistent.yaml"], "config file /nonexistent.yaml"),
        (["--spec", "/nonexistent.yml"], "/nonexistent.yml"),
    ],
)
def test_bad_configuration_exits_2_with_a_message(flags, message):
    result = subprocess.run(serve_command(*flags), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_port_in_use_exits_2():
    process = ServeProcess(serve_command())
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
