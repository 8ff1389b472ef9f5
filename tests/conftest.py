"""Fixtures: real sandboxes on free loopback ports, and an HTTP client for them."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sandbox.config import Settings
from sandbox.server import Server

from .processes import ServeProcess
from .receiver import Receiver

BASIC = "Basic " + base64.b64encode(b"key1:secret1").decode()


class Client:
    """A requests session aimed at one running sandbox."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url
        self.http = requests.Session()

    def send(
        self, body: Any, authorization: str | None = BASIC, headers: dict | None = None, **kw
    ) -> requests.Response:
        all_headers = {"Authorization": authorization} if authorization else {}
        all_headers.update(headers or {})
        return self.http.post(f"{self.url}/v0.1/messages", json=body, headers=all_headers, **kw)

    def post_raw(self, data: bytes, headers: dict[str, str], path: str = "/v0.1/messages"):
        return self.http.post(self.url + path, data=data, headers=headers)

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.url + path, **kw)

    def healthy(self) -> bool:
        return self.get("/_sandbox/health").status_code == 200

    @property
    def sandbox(self):
        return self.server.sandbox


@pytest.fixture
def start_sandbox(request: pytest.FixtureRequest) -> Iterator[Callable[..., Client]]:
    """Start sandboxes with the given settings on free ports; all stop after the test."""
    servers: list[Server] = []

    def start(base: Settings | None = None, **settings: Any) -> Client:
        settings.setdefault("port", 0)
        settings.setdefault("log_level", "warning")
        server = Server((base or Settings()).with_overrides(**settings)).start()
        servers.append(server)
        return Client(server)

    yield start
    invalid = [invalid_payloads(server) for server in servers]
    for server in servers:
        server.stop()
    if not request.node.get_closest_marker("allows_invalid_payloads"):
        assert not any(invalid), f"payloads failed the spec: {invalid}"


def invalid_payloads(server: Server) -> list[dict]:
    """A webhook payload the spec's schema refused is a sandbox bug: it fails the test."""
    if server.sandbox.store.closed:
        return []  # the test stopped it itself (a restart test)
    return server.sandbox.store.query("SELECT problem FROM events WHERE state = 'invalid'")


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServeProcess]]:
    """Start `messages-sandbox serve` processes; any still running are killed afterwards."""
    processes: list[ServeProcess] = []

    def start(args, **kwargs) -> ServeProcess:
        processes.append(ServeProcess(args, **kwargs))
        return processes[-1]

    yield start
    for process in processes:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free loopback port."""
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def manual(start_sandbox, receiver) -> Client:
    """A sandbox on the manual clock whose webhooks go to the receiver."""
    return start_sandbox(
        clock="manual", status_url=receiver.url + "/status", inbound_url=receiver.url + "/inbound"
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One default sandbox shared by a test module."""
    server = Server(Settings(port=0)).start()
    yield Client(server)
    invalid = invalid_payloads(server)
    server.stop()
    assert not invalid, f"payloads failed the spec: {invalid}"


@pytest.fixture(scope="module")
def private_key():
    """An RSA key of the test module's own (an application's, for JWTs signed by an SDK)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
