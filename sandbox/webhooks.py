"""What an event's webhook carries and where it goes; every payload checked against the spec.

Status webhooks go to the request's ``callback`` (an extension), else the application's
``status_url``, else the default ``--status-url``; inbound ones to the application's
``inbound_url``, else ``--inbound-url``. URLs are resolved when the event occurs, so an
application registered later still gets the events that occur after it.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import Application
from .dispatcher import Job
from .events import ContentFaker, inbound_payload, status_payload, to_json_bytes
from .spec import Spec
from .validation import dotted

PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


@dataclass(frozen=True)
class Webhook:
    """A built event: the bytes to send, where to, and any schema problem."""

    body: bytes
    url: str | None
    problem: str | None = None


class WebhookBuilder:
    """Builds the payload of each event and finds its destination."""

    def __init__(
        self,
        spec: Spec,
        applications: Mapping[str, Application],
        status_url: str | None,
        inbound_url: str | None,
    ) -> None:
        self.spec = spec
        self.applications = applications
        self.status_url, self.inbound_url = status_url, inbound_url
        self.reasons = {code: error.title for code, error in spec.errors.items()}
        self._faker: ContentFaker | None = None
        self._checks = {
            "status": (spec.is_valid("MessageStatus"), spec.validator("MessageStatus")),
            "inbound": (spec.is_valid("InboundMessage"), spec.validator("InboundMessage")),
        }

    @property
    def faker(self) -> ContentFaker:
        if self._faker is None:  # Faker costs ~0.1 s to import: only when first needed
            self._faker = ContentFaker()
        return self._faker

    def build(self, job: Job, when: float) -> Webhook:
        if job.kind == "inbound":
            payload = self.inbound(job, when)
        else:
            payload = status_payload(
                job.message_uuid, job.context["request"], job.step, when, self.reasons
            )
        return Webhook(to_json_bytes(payload), self.url_for(job), self.check(job.kind, payload))

    def inbound(self, job: Job, when: float) -> dict[str, Any]:
        """An inbound message: a scripted reply (customer = the recipient) or an injected one."""
        context, step = job.context, job.step
        rng = random.Random(step["seed"])
        self.faker.seed(rng.getrandbits(63))
        requested = fill_placeholders(step.get("inbound") or {}, context, self.faker)
        content = self.faker.content(requested)
        inbound_uuid = step.get("message_uuid") or str(
            uuid.UUID(int=rng.getrandbits(128), version=4)
        )
        return inbound_payload(
            inbound_uuid,
            context["channel"],
            context["customer"],
            context["business"],
            content,
            when,
        )

    def url_for(self, job: Job) -> str | None:
        application = self.applications.get(job.context.get("application_id") or "")
        if job.kind == "inbound":
            return (application and application.inbound_url) or self.inbound_url
        callback = job.context.get("request", {}).get("callback")
        if isinstance(callback, str) and callback:
            return callback
        return (application and application.status_url) or self.status_url

    def check(self, kind: str, payload: dict[str, Any]) -> str | None:
        """None if the payload is valid for the spec's schema, else what is wrong with it."""
        is_valid, validator = self._checks[kind]
        if is_valid(payload):
            return None
        errors = validator.iter_errors(payload)
        return "; ".join(f"{dotted(e.absolute_path) or '(payload)'}: {e.message}" for e in errors)


def fill_placeholders(value: Any, context: Mapping[str, Any], faker: ContentFaker) -> Any:
    """Replace {{faker.sentence}}, {{message.text}}, {{to}}, {{from}} inside strings."""
    if isinstance(value, dict):
        return {k: fill_placeholders(v, context, faker) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, context, faker) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    return PLACEHOLDER.sub(lambda m: str(placeholder(m.group(1), context, faker)), value)


def placeholder(name: str, context: Mapping[str, Any], faker: ContentFaker) -> Any:
    if name.startswith("faker."):
        return getattr(faker.faker, name.removeprefix("faker."))()
    if name in ("message.text", "message.content_type"):
        content = (context.get("request", {}).get("message") or {}).get("content") or {}
        return content.get("text" if name == "message.text" else "type", "")
    if name in ("to", "from"):
        return context["customer"] if name == "from" else context["business"]
    raise KeyError(f"unknown placeholder {{{{{name}}}}}")
