"""What an event's webhook carries and where it goes; every payload checked against its spec.

The body is rendered when the event occurs, from the neutral event, in the message's
``webhook_version`` (``versions``). Status webhooks go to the message's ``webhook_url``
(v0.1 ``callback``), else the application's ``status_url``, else its scope's URL, else the
default ``--status-url``; inbound ones likewise from the application's ``inbound_url``.
URLs are resolved when the event occurs, so an application registered later still gets
the events that occur after it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import placeholders
from .events import ContentFaker
from .ids import uuid_from
from .jsontext import compact_json_bytes
from .message import InboundEvent, Origin, StatusEvent
from .runtime import RuntimeState
from .versions import DEFAULT_WEBHOOK_VERSION, WebhookRenderer


@dataclass(frozen=True)
class Webhook:
    """A built event: the bytes to send, where to, any schema problem, and for an inbound
    one the neutral message it carries (a scenario's reply is journaled as inbound too)."""

    body: bytes
    url: str | None
    problem: str | None = None
    inbound: InboundEvent | None = None


class WebhookBuilder:
    """Builds the payload of each event and finds its destination."""

    def __init__(
        self,
        renderers: Mapping[str, WebhookRenderer],
        state: Callable[[], RuntimeState],
    ) -> None:
        self.renderers = renderers
        self.state = state
        self._faker: ContentFaker | None = None

    @property
    def faker(self) -> ContentFaker:
        if self._faker is None:  # Faker costs ~0.1 s to import: only when first needed
            self._faker = ContentFaker()
        return self._faker

    def build(
        self, kind: str, message_uuid: str, step: dict[str, Any], origin: Origin, when: float
    ) -> Webhook:
        renderer = self.renderers[self.version_for(origin)]
        inbound = None
        if kind == "inbound":
            inbound = self.inbound(step, origin, when)
            payload = renderer.inbound(inbound)
        else:
            assert origin.message is not None  # status events belong to outbound messages
            payload = renderer.status(StatusEvent(message_uuid, origin.message, step, when))
        url = self.url_for(kind, origin)
        return Webhook(compact_json_bytes(payload), url, renderer.problem(kind, payload), inbound)

    def version_for(self, origin: Origin) -> str:
        """The message's webhook version; if its request did not say, its application's
        setting (resolved when the event occurs, like the URL), else its parser's default."""
        message = origin.message
        if message is not None and not message.webhook_version_given:
            application = self.state().applications.get(origin.application_id or "")
            if application is not None and application.webhook_version:
                return application.webhook_version
        return origin.webhook_version or DEFAULT_WEBHOOK_VERSION

    def inbound(self, step: dict[str, Any], origin: Origin, when: float) -> InboundEvent:
        """An inbound message: a scripted reply (customer = the recipient) or an injected one."""
        rng = random.Random(step["seed"])
        self.faker.seed(rng.getrandbits(63))
        requested = placeholders.fill(step.get("inbound") or {}, self.resolver(origin))
        content = self.faker.content(requested)
        inbound_uuid = step.get("message_uuid") or uuid_from(rng)
        return InboundEvent(
            inbound_uuid, origin.channel, origin.customer, origin.business, content, when
        )

    def resolver(self, origin: Origin) -> Callable[[str], Any]:
        """What each placeholder stands for in a reply to ``origin``'s message."""
        message = origin.message

        def resolve(name: str) -> Any:
            method = placeholders.faker_method(name)
            if method is not None:
                return getattr(self.faker.faker, method)()
            if name == "message.text":
                return (message.text if message else None) or ""
            if name == "message.content_type":
                return message.content_type if message else ""
            if name in ("to", "from"):
                return origin.customer if name == "from" else origin.business
            raise placeholders.unknown(name)

        return resolve

    def url_for(self, kind: str, origin: Origin) -> str | None:
        state = self.state()
        application = state.applications.get(origin.application_id or "")
        scoped = state.urls_for(origin.scope)
        if kind == "inbound":
            return (application and application.inbound_url) or scoped.inbound_url
        if origin.message is not None and origin.message.webhook_url:
            return origin.message.webhook_url
        return (application and application.status_url) or scoped.status_url
