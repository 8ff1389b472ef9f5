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
    webhook_version_given: bool = True  # False: the request left it to the application
    request: dict[str, Any] = field(default_factory=dict)  # the body as received (journaled)
    failover: tuple[Message, ...] = ()  # v1 failover messages, tried in order
    category: str | None = None  # v1 viber_service/messenger `category` (promotion, …)
    to_kind: str = "number"  # which address field `to` was given in: number | id
    sender_kind: str = "number"  # the same for `sender`

    @property
    def text(self) -> str | None:
        value = self.content.get("text")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Origin:
    """Whose events these are: an outbound message (its replies come from its recipient),
    or an inbound message injected from ``customer`` to ``business``."""

    channel: str
    customer: str
    business: str
    api_key: str | None = None
    application_id: str | None = None
    message: Message | None = None
    version: str | None = None  # an injected inbound message's webhook version

    @classmethod
    def of(cls, message: Message, api_key: str | None, application_id: str | None) -> Origin:
        return cls(message.channel, message.to, message.sender, api_key, application_id, message)

    @property
    def scope(self) -> str:
        """The scope its run-time settings are looked up in (application id, else api key)."""
        return self.application_id or self.api_key or ""

    @property
    def webhook_version(self) -> str | None:
        """The version its webhooks are rendered in (None: the sandbox's default)."""
        return self.message.webhook_version if self.message else self.version


@dataclass(frozen=True)
class StatusEvent:
    """A version-neutral status change of an outbound message, rendered per version."""

    message_uuid: str
    message: Message
    step: dict[str, Any]  # {status, error?, usage?} as the script gave it
    when: float


@dataclass(frozen=True)
class InboundEvent:
    """A version-neutral message from a customer, rendered per version."""

    message_uuid: str
    channel: str
    customer: str
    business: str
    content: dict[str, Any]
    when: float
