"""The Dockerfile's own commands, run here (no Docker engine on these machines).

The entry point and the health check are read from the Dockerfile and run as they are,
with its environment: what the container would run is what this test runs.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import requests

from .test_durability import free_port

DOCKERFILE = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()


def instruction(name: str) -> str:
    """The text of the last NAME instruction, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.startswith(name + " ")][-1][
        len(name) + 1 :
    ]


def environment() -> dict[str, str]:
    pairs = shlex.split(instruction("ENV"))
    return dict(pair.split("=", 1) for pair in pairs if not pair.startswith("PATH="))


def test_dockerfile_is_slim_non_root_and_exec_form():
    assert DOCKERFILE.count("FROM python:3.11-slim") == 2
    assert "USER sandbox" in DOCKERFILE and "EXPOSE 4010" in DOCKERFILE
    assert json.loads(instruction("ENTRYPOINT"))[:4] == [
        "messages-sandbox",
        "serve",
        "--host",
        "0.0.0.0",
    ]
    assert "pip install --no-cache-dir ." in DOCKERFILE
    assert "curl" not in instruction("HEALTHCHECK")


def test_entry_point_and_health_check_work(spawn, tmp_path):
    entry = json.loads(instruction("ENTRYPOINT"))
    healthcheck = json.loads(re.sub(r"^.*?CMD ", "", instruction("HEALTHCHECK")))
    env = {**environment(), "SANDBOX_PORT": str(free_port()), "SANDBOX_SCENARIOS": str(tmp_path)}
    (tmp_path / "mine.yaml").write_text("rules:\n  - match: {to: '447700900999'}\n    script: []\n")
    command = [str(Path(sys.executable).parent / entry[0]), *entry[1:]]

    process = spawn(command, env=env)
    url = process.wait_until_healthy()
    assert url == f"http://127.0.0.1:{env['SANDBOX_PORT']}"
    check = subprocess.run(
        [sys.executable if healthcheck[0] == "python" else healthcheck[0], *healthcheck[1:]],
        env={**env, "PATH": str(Path(sys.executable).parent)},
        timeout=10,
    )
    assert check.returncode == 0
    scenarios = requests.get(url + "/_sandbox/scenarios", timeout=5).json()["scenarios"]
    assert "mine" in {s["name"] for s in scenarios}  # the volume's files are loaded
    assert process.stop(signal.SIGTERM) == 0


def test_health_check_fails_when_nothing_answers():
    healthcheck = json.loads(re.sub(r"^.*?CMD ", "", instruction("HEALTHCHECK")))
    check = subprocess.run(
        [sys.executable, *healthcheck[1:]],
        env={"SANDBOX_PORT": str(free_port())},
        timeout=10,
        capture_output=True,
    )
    assert check.returncode != 0
