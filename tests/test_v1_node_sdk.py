"""Vonage's Node SDK (@vonage/server-sdk 3.x, pinned in tests/sdk/node) against the sandbox.

Skipped when node is missing. When node_modules is absent the test runs `npm ci` (the lock
file pins every package; .ci/run does the same before the suite) and skips, saying why, when
npm cannot install it (e.g. no registry).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.config import Application

from .failover import assert_whatsapp_then_sms
from .tokens import pem

NODE_DIR = Path(__file__).parent / "sdk" / "node"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: Node SDK not run")
APPLICATION_ID = "b5e35d3c-7b2e-4b39-9a7f-2b8ab3d0f9a1"
TYPES = "https://developer.vonage.com/api-errors/messages#"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if not (NODE_DIR / "node_modules" / "@vonage" / "server-sdk").is_dir():
        failure = npm_ci(NODE_DIR)
        if failure:
            pytest.skip(f"npm ci failed, Node SDK not run: {failure}")
    return NODE_DIR / "node_modules"


def npm_ci(directory: Path, env: dict[str, str] | None = None) -> str | None:
    """Install the locked packages in ``directory``; why that failed, or None."""
    npm = shutil.which("npm")
    assert npm, "node is installed but npm is not: cannot install the Node SDK"
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return "no answer in 300 s"
    if done.returncode == 0:
        return None
    errors = [line for line in done.stderr.splitlines() if line.startswith("npm error")]
    return " / ".join(errors[:4]) or f"npm exited {done.returncode}"


def test_an_npm_that_cannot_install_gives_a_reason(tmp_path):
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NODE_DIR / name, tmp_path / name)
    with socket.socket() as closed:  # a loopback port nobody listens on: no registry
        closed.bind(("127.0.0.1", 0))
        registry = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        failure = npm_ci(
            tmp_path,
            {
                "npm_config_registry": registry,
                "npm_config_fetch_retries": "0",
                "npm_config_cache": str(tmp_path / "cache"),
                "npm_config_offline": "false",
            },
        )
    assert failure and "ECONNREFUSED" in failure
    assert not (tmp_path / "node_modules" / "@vonage").exists()


def run_sdk(client, auth: str, key: rsa.RSAPrivateKey) -> dict:
    inbound = {"channel": "whatsapp", "from": "447700900000", "to": "447700900001"}
    inbound_uuid = client.http.post(f"{client.url}/_sandbox/inbound", json=inbound).json()
    env = {
        **os.environ,
        "SANDBOX_URL": client.url,
        "AUTH": auth,
        "API_KEY": "key1",
        "API_SECRET": "secret1",
        "APPLICATION_ID": APPLICATION_ID,
        "PRIVATE_KEY": pem(key),
        "INBOUND_UUID": inbound_uuid["message_uuid"],
    }
    done = subprocess.run(
        [NODE, "send_all.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    results["_inbound_uuid"] = inbound_uuid["message_uuid"]
    return results


@pytest.mark.parametrize("auth", ["basic", "jwt"])
def test_node_sdk_on_every_channel(start_sandbox, node_modules, private_key, auth):
    app = Application(APPLICATION_ID, public_key=pem(private_key, public=True))
    client = start_sandbox(api_keys={"key1": "secret1"}, applications={APPLICATION_ID: app})
    results = run_sdk(client, auth, private_key)
    sends = [name for name in results if "/" in name or name == "failover"]
    assert len(sends) == 25
    for name in sends:
        assert results[name]["ok"], (name, results[name])
        message_uuid = results[name]["value"]["messageUUID"]
        assert uuid.UUID(message_uuid).version == 4
        entry = client.get(f"/_sandbox/messages/{message_uuid}").json()
        assert entry["channel"] == (name.split("/")[0] if "/" in name else "rcs")
        expected = ("key1", None) if auth == "basic" else (None, APPLICATION_ID)
        assert (entry["api_key"], entry["application_id"]) == expected
    sms = client.get(f"/_sandbox/messages/{results['sms/text']['value']['messageUUID']}").json()
    assert sms["request"]["client_ref"] == "node-sdk"  # camelCase became the API's snake_case
    failover = client.get(f"/_sandbox/messages/{results['failover']['value']['messageUUID']}")
    assert failover.json()["response"]["body"]["workflow_id"]

    assert results["read"] == {"ok": True, "value": True}
    inbound = client.get(f"/_sandbox/messages/{results['_inbound_uuid']}").json()
    assert inbound["status"] == "read"
    assert results["read-unknown"]["status"] == 404


@pytest.mark.parametrize("auth", ["basic", "jwt"])
def test_node_sdk_errors_carry_the_sandbox_422(start_sandbox, node_modules, private_key, auth):
    app = Application(APPLICATION_ID, public_key=pem(private_key, public=True))
    client = start_sandbox(api_keys={"key1": "secret1"}, applications={APPLICATION_ID: app})
    results = run_sdk(client, auth, private_key)
    expected = {
        "bad-recipient": (TYPES + "1130", None),
        "bad-channel": (TYPES + "1100", None),
        "missing-image-url": (TYPES + "1150", [{"name": "image.url", "reason": "is required"}]),
    }
    for name, (error_type, parameters) in expected.items():
        result = results[name]
        assert (result["ok"], result["status"]) == (False, 422), result
        assert result["contentType"] == "application/json"
        assert result["message"] == "Request failed with status code 422"
        assert result["body"]["type"] == error_type
        assert result["body"].get("invalid_parameters") == parameters


def test_wrong_credentials_are_refused_to_the_sdk(start_sandbox, node_modules, private_key):
    client = start_sandbox(api_keys={"key1": "another-secret"})
    results = run_sdk(client, "basic", private_key)
    assert results["sms/text"]["status"] == 401
    assert results["sms/text"]["contentType"] == "application/problem+json"


def test_node_sdk_failover_workflow_end_to_end(start_sandbox, receiver, node_modules):
    """WhatsApp rejected 1340 -> SMS delivered, sent by the SDK, every webhook checked."""
    from .test_v1_webhooks import document_validators

    client = start_sandbox(
        api_keys={"key1": "secret1"}, clock="manual", status_url=receiver.url + "/status"
    )
    env = {**os.environ, "SANDBOX_URL": client.url, "API_KEY": "key1", "API_SECRET": "secret1"}
    done = subprocess.run(
        [NODE, "failover.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    sent = json.loads(done.stdout)
    # The SDK's answer keeps only messageUUID; the journal has the 202's workflow_id too.
    primary = client.get(f"/_sandbox/messages/{sent['messageUUID']}").json()
    workflow_id = primary["workflow_id"]
    assert primary["response"]["body"]["workflow_id"] == workflow_id
    ended = client.get(f"/_sandbox/workflows/{workflow_id}", params={"wait": 10}).json()
    payloads = [r.json for r in receiver.on("/status")]
    assert_whatsapp_then_sms(ended, sent["messageUUID"], payloads)
    assert payloads[0]["client_ref"] == "parcel-42"
    status = document_validators()["status"]
    for payload in payloads:
        status.validate(payload)
