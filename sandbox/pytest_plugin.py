"""pytest plugin: a ``messages_sandbox`` fixture (registered through the pytest11 entry point).

One sandbox per test session, in a background thread on a free loopback port, on the
manual clock (or ``--messages-sandbox-clock fast``); reset before each test. Webhooks are
captured by the sandbox itself unless the test sends them to its own app with
``use_webhooks``. Waits never need the test to move the clock. A webhook payload that
fails the spec during a test fails that test. ``--messages-sandbox-url`` points the
fixture at a sandbox that is already running (a container in CI) instead.

Each session is a scope of its own: it gets its own ``api_key``/``api_secret`` and
``application_id`` (configure the app under test with them), and everything the fixture
reads, waits for, resets or redirects is that scope's only. Sessions of parallel CI jobs
can share one sandbox without seeing or wiping each other's messages.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .client import SandboxClient, WaitTimeout
from .clock import CLOCKS
from .config import Settings, load_settings
from .states import ARRIVED_STATES, EventState

# Received by the receiver (or journaled, where no URL is set); a webhook given up is not.
ARRIVED = ",".join(ARRIVED_STATES)
INVALID = EventState.INVALID.value
CAPTURE = {"status_url": "/_sandbox/sink/status", "inbound_url": "/_sandbox/sink/inbound"}


@dataclass(frozen=True)
class Credentials:
    """One test session's own credentials: its scope in a shared sandbox."""

    api_key: str
    api_secret: str
    application_id: str

    @classmethod
    def new(cls) -> Credentials:
        return cls(f"pytest-{secrets.token_hex(4)}", secrets.token_hex(8), str(uuid.uuid4()))

    @property
    def scope(self) -> str:
        """The admin API's ``scope`` filter: sent with either credential."""
        return f"{self.api_key},{self.application_id}"

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """The two scopes it is kept under, as admin-API fields."""
        return {"api_key": self.api_key}, {"application_id": self.application_id}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("messages-sandbox")
    group.addoption(
        "--messages-sandbox-url",
        default=None,
        help="use the Messages Sandbox running at this URL instead of starting one",
    )
    group.addoption(
        "--messages-sandbox-clock",
        choices=tuple(CLOCKS),
        default="manual",
        help="manual (default: time moves only for waits), fast (real clock, 100x) or real",
    )
    group.addoption(
        "--messages-sandbox-admin-token", default=None, help="admin token of that sandbox"
    )


class MessagesSandbox:
    """What a test gets: the sandbox's URL, its own credentials, and ways to look, wait,
    inject and reset (all within this session's scope)."""

    def __init__(self, client: SandboxClient, credentials: Credentials | None = None) -> None:
        self.client = client
        self.url = client.url
        self.messages_url = client.url + "/v0.1/messages"
        self.v1_url = client.url  # Messages API v1: the host SDKs take (Node `apiHost`, …)
        self.credentials = credentials or Credentials.new()
        self.api_key = self.credentials.api_key
        self.api_secret = self.credentials.api_secret
        self.application_id = self.credentials.application_id

    def send(
        self,
        body: dict[str, Any],
        api_key: str | None = None,
        api_secret: str | None = None,
        api: str | None = None,
        **headers: str,
    ) -> tuple[int, Any]:
        """POST a message with this session's Basic credentials; (status, body). A v1 body
        (top-level ``channel``) goes to /v1/messages, a v0.1 one to /v0.1/messages."""
        key, secret = api_key or self.api_key, api_secret or self.api_secret
        return self.client.send(body, key, secret, headers or None, api)

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        return self.client.messages(**self.scoped(filters))

    def message(self, message_uuid: str) -> dict[str, Any]:
        return self.client.message(message_uuid)

    def webhooks(self, **filters: Any) -> list[dict[str, Any]]:
        return self.client.webhooks(**self.scoped(filters))

    def scoped(self, filters: dict[str, Any]) -> dict[str, Any]:
        """Filters narrowed to this session's own messages."""
        return {"scope": self.credentials.scope, **filters}

    def wait_for_status(self, message_uuid: str, status: str, timeout: float = 10.0) -> dict:
        """The status webhook's payload once it was delivered (raises, showing what came).

        Delivered means answered 2xx by the receiver; one still being retried, or given up,
        is not (the error lists its attempts).
        """
        found = self.client.wait(
            "webhook",
            timeout,
            **self.scoped(
                {
                    "message_uuid": message_uuid,
                    "kind": "status",
                    "status": status,
                    "state": ARRIVED,
                }
            ),
        )
        return found["payload"]

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        """A v1 failover workflow as one unit: its messages in order, and which ended it."""
        return self.client.workflow(workflow_id)

    def wait_for_workflow(self, workflow_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The workflow once it has ended: ``ended_by`` (a message_uuid) and ``status``."""
        return self.client.workflow(workflow_id, wait=timeout)

    def send_inbound(
        self,
        channel: str = "whatsapp",
        from_: str | None = None,
        to: str | None = None,
        text: str | None = None,
        content: dict[str, Any] | None = None,
        webhook_version: str | None = None,
        **scope: Any,
    ) -> str:
        """Inject a customer's message (the sandbox fills what is left out); its message_uuid.

        ``webhook_version`` (v0.1 | v1): its shape; by default that of the last message
        sent to this customer, else v0.1."""
        if text is not None:
            content = {"type": "text", "text": text}
        if not scope:
            scope = {"api_key": self.api_key}
        fields = {"channel": channel, "from": from_, "to": to, "content": content, **scope}
        if webhook_version is not None:
            fields["webhook_version"] = webhook_version
        return self.client.inbound(**fields)

    def wait_for_inbound(self, timeout: float = 10.0, **filters: Any) -> dict[str, Any]:
        """The payload of the next inbound webhook matching ``filters``, once delivered."""
        filters.setdefault("state", ARRIVED)
        found = self.client.wait("webhook", timeout, **self.scoped({"kind": "inbound", **filters}))
        return found["payload"]

    def use_webhooks(self, status_url: str | None = None, inbound_url: str | None = None) -> None:
        """Send this session's webhooks to your own app for the rest of this test."""
        for name in self.credentials.names():
            urls = {"status_url": status_url, "inbound_url": inbound_url}
            self.client.admin("PUT", "/defaults", {**urls, **name})

    def select_scenarios(self, *names: str) -> None:
        for name in self.credentials.names():
            self.client.admin("PUT", "/scenarios/selected", {"scenarios": list(names), **name})

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the manual clock (waits do it for you; this is for 'nothing happened' checks).

        Time is the sandbox's, shared by every session using it.
        """
        return self.client.advance(seconds)

    def reset(self) -> None:
        """Forget this session's messages, and capture its webhooks again."""
        for name in self.credentials.names():
            self.client.reset(**name)
        self.use_webhooks(*(self.url + path for path in CAPTURE.values()))

    def invalid_payloads(self) -> list[dict[str, Any]]:
        return self.webhooks(state=INVALID)


@pytest.fixture(scope="session")
def messages_sandbox_credentials() -> Credentials:
    """This session's own api key, secret and application id (override to choose them)."""
    return Credentials.new()


@pytest.fixture(scope="session")
def messages_sandbox_settings(request: pytest.FixtureRequest) -> Settings:
    """The settings of the sandbox the plugin starts; override this fixture to change them.

    SANDBOX_* variables and the config file apply (scenarios, a seed…), as for `serve`;
    the plugin's own choices win: loopback, a free port and ``--messages-sandbox-clock``.
    """
    clock = request.config.getoption("--messages-sandbox-clock")
    return load_settings({"host": "127.0.0.1", "port": 0, "clock": clock})


@pytest.fixture(scope="session")
def messages_sandbox_client(request: pytest.FixtureRequest) -> Iterator[SandboxClient]:
    """The session's sandbox: started here on a free port, or the one given by URL."""
    url = request.config.getoption("--messages-sandbox-url")
    token = request.config.getoption("--messages-sandbox-admin-token")
    if url:
        yield SandboxClient(url, admin_token=token)
        return
    from .server import Server

    settings = request.getfixturevalue("messages_sandbox_settings")
    server = Server(settings).start()
    yield SandboxClient(server.url, admin_token=settings.admin_token)
    server.stop()


@pytest.fixture
def messages_sandbox(
    messages_sandbox_client: SandboxClient, messages_sandbox_credentials: Credentials
) -> Iterator[MessagesSandbox]:
    """This session's scope, clean for this test (reset before it), capturing webhooks."""
    sandbox = MessagesSandbox(messages_sandbox_client, messages_sandbox_credentials)
    sandbox.reset()
    yield sandbox
    invalid = sandbox.invalid_payloads()
    if invalid:
        problems = "\n".join(f"  - {w['message_uuid']}: {w['problem']}" for w in invalid)
        pytest.fail(f"the sandbox built webhook payloads that fail the spec:\n{problems}")


__all__ = ["Credentials", "MessagesSandbox", "WaitTimeout"]
