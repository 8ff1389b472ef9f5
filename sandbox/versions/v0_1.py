"""Messages API v0.1: its request shape in and its webhook shapes out, at the edges.

``parse`` validates a v0.1 body (``to``/``from`` objects, ``message.content``) and turns it
into the neutral ``Message``; ``WebhookShapes`` renders neutral events as v0.1
MessageStatus and InboundMessage bodies, each checked against the v0.1 document.
"""

from __future__ import annotations

from typing import Any

from ..channels import pick
from ..events import address, inbound_payload, status_payload
from ..message import InboundEvent, Message, StatusEvent
from ..problems import invalid_params
from ..spec import Spec
from ..validation import RequestValidator, dotted

VERSION = "v0.1"


class Parser:
    """v0.1 request bodies -> Message, or a 400 Problem listing every violation."""

    def __init__(self, spec: Spec) -> None:
        self.validator = RequestValidator(spec)

    def parse(self, body: Any) -> Message:
        violations = self.validator.violations(body)
        if violations:
            raise invalid_params(violations)
        return to_message(body)


def to_message(body: dict[str, Any]) -> Message:
    """A valid v0.1 body as the neutral Message (the body itself kept as ``request``)."""
    content = pick(body, "message.content", dict) or {}
    kind = content.get("type") if isinstance(content.get("type"), str) else ""
    callback = body.get("callback")
    to_kind, to = side(body.get("to"))
    sender_kind, sender = side(body.get("from"))
    return Message(
        api_version=VERSION,
        channel=pick(body, "to.type", str) or "",
        to=to,
        sender=sender,
        content_type=kind,
        content={k: v for k, v in content.items() if k != "type"},
        client_ref=pick(body, "client_ref", str),
        webhook_url=callback if isinstance(callback, str) and callback else None,
        webhook_version=VERSION,
        request=body,
        to_kind=to_kind,
        sender_kind=sender_kind,
    )


def side(value: Any) -> tuple[str, str]:
    """('number' | 'id', the address) of a v0.1 to/from object ('' when it has neither)."""
    value = value if isinstance(value, dict) else {}
    for kind in ("number", "id"):
        if isinstance(value.get(kind), str):
            return kind, value[kind]
    return "number", ""


class WebhookShapes:
    """Neutral events -> v0.1 MessageStatus / InboundMessage bodies, checked against the spec."""

    def __init__(self, spec: Spec) -> None:
        self.reasons = {code: error.title for code, error in spec.errors.items()}
        self._channels = spec.enum("InboundMessage", "to", "type")
        self._types = spec.enum("InboundMessage", "message", "content", "type")
        self._checks = {
            "status": (spec.is_valid("MessageStatus"), spec.validator("MessageStatus")),
            "inbound": (spec.is_valid("InboundMessage"), spec.validator("InboundMessage")),
        }

    def status(self, event: StatusEvent) -> dict[str, Any]:
        message = event.message
        to, sender = addresses(message)
        return status_payload(
            event.message_uuid,
            to,
            sender,
            message.text or "",
            message.client_ref,
            event.step,
            event.when,
            self.reasons,
        )

    def inbound(self, event: InboundEvent) -> dict[str, Any]:
        return inbound_payload(
            event.message_uuid,
            event.channel,
            event.customer,
            event.business,
            event.content,
            event.when,
        )

    def inbound_types(self) -> dict[str, tuple[str, ...]]:
        return dict.fromkeys(self._channels, self._types)

    def problem(self, kind: str, payload: dict[str, Any]) -> str | None:
        is_valid, validator = self._checks[kind]
        if is_valid(payload):
            return None
        errors = validator.iter_errors(payload)
        return "; ".join(f"{dotted(e.absolute_path) or '(payload)'}: {e.message}" for e in errors)


def addresses(message: Message) -> tuple[dict[str, str], dict[str, str]]:
    """The status webhook's to/from: a v0.1 request's own objects, else built from the message."""
    if message.api_version == VERSION:
        return address(message.request.get("to")), address(message.request.get("from"))
    return (
        {"type": message.channel, message.to_kind: message.to},
        {"type": message.channel, message.sender_kind: message.sender},
    )
