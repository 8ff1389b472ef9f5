"""A small client for a running sandbox (stdlib only): sends, admin calls, waits.

Used by the pytest plugin and the CLI helpers; usable from any Python test suite.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SandboxError(Exception):
    """The sandbox answered with an error (the Error shape is in ``body``)."""

    def __init__(self, status: int, body: Any) -> None:
        detail = body.get("detail") if isinstance(body, dict) else body
        wrong = body.get("invalid_parameters", []) if isinstance(body, dict) else []
        reasons = "".join(f"\n  {p['name']}: {p['reason']}" for p in wrong)
        super().__init__(f"{status}: {detail}{reasons}")
        self.status = status
        self.body = body


class WaitTimeout(AssertionError):
    """A wait ran out of time; ``arrived`` holds what did arrive."""

    def __init__(self, description: str, arrived: list[dict[str, Any]]) -> None:
        lines = [f"{description}: nothing matched in time. What arrived:"]
        lines += [f"  - {summarise(item)}" for item in arrived] or ["  (nothing)"]
        super().__init__("\n".join(lines))
        self.arrived = arrived


def summarise(item: dict[str, Any]) -> str:
    if "kind" in item:
        detail = item.get("status") or "inbound"
        error = (item.get("payload") or {}).get("error")
        tries = [a.get("status_code") or a.get("error") for a in item.get("attempts", [])]
        return (
            f"{item['kind']} {detail} of {item['message_uuid']} ({item['state']}"
            + (f", error {error['code']}" if error else "")
            + (f", attempts {tries}" if tries else "")
            + ")"
        )
    return f"message {item.get('message_uuid')} to {item.get('to')} ({item.get('status')})"


def basic_auth(api_key: str, api_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()


class SandboxClient:
    """HTTP calls to one sandbox at ``url`` (``http://127.0.0.1:4010``)."""

    def __init__(self, url: str, admin_token: str | None = None, timeout: float = 70.0) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded JSON or None); never raises for an HTTP error status."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.admin_token and path.startswith("/_sandbox"):
            all_headers.setdefault("Authorization", f"Bearer {self.admin_token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, decode(exc.read())

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        status, answer = self.call(method, "/_sandbox" + path, body, params)
        if status >= 400:
            raise SandboxError(status, answer)
        return answer

    # the Messages API ------------------------------------------------------------------

    def send(
        self,
        body: dict[str, Any],
        api_key: str = "key",
        api_secret: str = "secret",
        headers: dict[str, str] | None = None,
        api: str | None = None,
    ) -> tuple[int, Any]:
        """POST a message with Basic credentials; (status, body). ``api`` is "v1" or "v0.1";
        by default a flat body with a top-level ``channel`` is v1, a nested one v0.1."""
        auth = {"Authorization": basic_auth(api_key, api_secret), **(headers or {})}
        api = api or ("v1" if "channel" in body else "v0.1")
        return self.call("POST", f"/{api}/messages", body, headers=auth)

    # inspection ------------------------------------------------------------------------

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/messages", **filters)["items"]

    def message(self, message_uuid: str) -> dict[str, Any]:
        return self.admin("GET", f"/messages/{message_uuid}")

    def webhooks(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/webhooks", **filters)["items"]

    def wait(
        self, target: str = "webhook", timeout: float = 10.0, **filters: Any
    ) -> dict[str, Any]:
        """The first webhook (or message) matching ``filters``; WaitTimeout shows what came."""
        params = {**filters, "for": target, "timeout": timeout}
        status, answer = self.call("GET", "/_sandbox/wait", params=params)
        if status == 408:
            wanted = ", ".join(f"{k}={v}" for k, v in filters.items())
            raise WaitTimeout(
                f"waited {timeout:g} s for a {target} with {wanted}", answer["arrived"]
            )
        if status >= 400:
            raise SandboxError(status, answer)
        return answer

    def workflow(self, workflow_id: str, wait: float | None = None) -> dict[str, Any]:
        """A failover workflow (its messages in order, ``ended_by``); ``wait``: until it ends."""
        params = {} if wait is None else {"wait": wait}
        status, answer = self.call("GET", f"/_sandbox/workflows/{workflow_id}", params=params)
        if status == 408:
            raise WaitTimeout(f"waited {wait:g} s for workflow {workflow_id}", answer["arrived"])
        if status >= 400:
            raise SandboxError(status, answer)
        return answer

    # control ---------------------------------------------------------------------------

    def inbound(self, **fields: Any) -> str:
        return self.admin("POST", "/inbound", fields)["message_uuid"]

    def reset(self, api_key: str | None = None, application_id: str | None = None) -> int:
        body = {"api_key": api_key, "application_id": application_id}
        return self.admin("POST", "/reset", body)["deleted_messages"]

    def set_defaults(self, status_url: str | None, inbound_url: str | None) -> None:
        self.admin("PUT", "/defaults", {"status_url": status_url, "inbound_url": inbound_url})

    def select_scenarios(self, *names: str, api_key: str | None = None) -> None:
        self.admin("PUT", "/scenarios/selected", {"scenarios": list(names), "api_key": api_key})

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.admin("POST", "/clock/advance", {"seconds": seconds})


def decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
