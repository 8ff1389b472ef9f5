"""The version-neutral message: what every API version's request parser produces.

The engine, scenarios, dispatcher and store see only this; the request shape of each API
version (v0.1 nests ``to.type`` / ``message.content``, v1 is flat) stays in its adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """One outbound message as the sandbox understands it, whatever API version sent it."""

    api_version: str  # "v0.1" | "v1": which endpoint received it
    channel: str  # sms, mms, rcs, whatsapp, messenger, viber_service, email
    to: str  # the recipient's number, id or address
    sender: str  # the request's `from`: number, id or alphanumeric sender id
    content_type: str  # text, image, audio, video, file, template, custom, vcard, …
    content: dict[str, Any] = field(default_factory=dict)  # the type's part, e.g. {"text": …}
    client_ref: str | None = None
    webhook_url: str | None = None  # v0.1 `callback` (extension) / v1 `webhook_url`
    webhook_version: str = "v0.1"  # the shape its webhooks are rendered in
    request: dict[str, Any] = field(default_factory=dict)  # the body as received (journaled)
    failover: tuple[Message, ...] = ()  # v1 failover messages, tried in order

    @property
    def text(self) -> str | None:
        value = self.content.get("text")
        return value if isinstance(value, str) else None
