"""Messages API v1 webhooks: neutral events -> the document's per-channel shapes, checked.

The document's ``x-webhooks`` give ``message-status`` as a oneOf of ``messageStatus<Channel>``
and ``inbound-message`` as a oneOf of one branch per channel; each payload is checked
against its own channel's schema (with the document's status ``allOf`` fault corrected in
``v1_document``), so a failure names the field rather than "valid under none".
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from jsonschema import Draft4Validator

from ..events import CURRENCY, sms_segments, timestamp, usage_for
from ..message import InboundEvent, Message, StatusEvent
from ..spec import Spec
from ..validation import dotted
from .v1_document import V1Document, load_v1

VERSION = "v1"
ERROR_TYPE = "https://developer.vonage.com/api-errors/messages#"
STATUS_SCHEMAS = {
    "sms": "messageStatusSMS",
    "mms": "messageStatusMMS",
    "rcs": "messageStatusRCS",
    "whatsapp": "messageStatusWhatsApp",
    "messenger": "messageStatusMessenger",
    "viber_service": "messageStatusViber",
    "email": "messageStatusEmail",
}
# What the document's inbound-message branches give each channel. Left out: RCS `button`
# (its schema requires `reply`, not `button`: no body passes) and WhatsApp `contacts` (it
# requires `button`): faults of the document, so the sandbox cannot send them valid.
MEDIA = ("image", "audio", "video", "file")
INBOUND_TYPES = {
    "sms": ("text",),
    "mms": ("text", "image", "vcard", "audio", "video", "file"),
    "rcs": ("text", "image", "video", "audio", "file", "vcard", "location", "reply"),
    "whatsapp": (
        "text",
        *MEDIA,
        "location",
        "sticker",
        "reply",
        "order",
        "reaction",
        "button",
        "unsupported",
    ),
    "messenger": ("text", *MEDIA, "unsupported"),
    "viber_service": ("text", "image", "video", "file"),
}
INBOUND_TITLES = {
    "sms": "SMS",
    "mms": "MMS",
    "rcs": "RCS",
    "whatsapp": "WhatsApp",
    "messenger": "Messenger",
    "viber_service": "Viber",
}
# usage {currency, price} is in the schemas of these channels. The SMS price is per segment
# (events.usage_for); the others are the sandbox's own flat prices, not Vonage's.
FLAT_PRICES = {
    "mms": Decimal("0.0400"),
    "messenger": Decimal("0.0000"),
    "viber_service": Decimal("0.0100"),
}
WHATSAPP_PROFILE_NAME = "Customer"


class V1Webhooks:
    """``versions.WebhookRenderer`` for v1: status and inbound bodies per channel."""

    def __init__(self, spec: Spec | None = None, document: V1Document | None = None) -> None:
        self.document = document or load_v1()
        self.catalogue = self.document.errors
        self._checks: dict[str, tuple[Callable[[Any], bool], Draft4Validator]] = {}
        self._lock = threading.Lock()

    # status --------------------------------------------------------------------------

    def status(self, event: StatusEvent) -> dict[str, Any]:
        message, step = event.message, event.step
        payload: dict[str, Any] = {
            "message_uuid": event.message_uuid,
            "to": message.to,
            "from": message.sender,
            "timestamp": timestamp(event.when),
            "status": step["status"],
            "channel": message.channel,
        }
        if step.get("error") is not None:
            payload["error"] = self.error(step["error"], event.message_uuid, step["status"])
        usage = self.usage(message, step.get("usage"))
        if usage is not None:
            payload["usage"] = usage
        if message.client_ref is not None:
            payload["client_ref"] = message.client_ref
        payload.update(channel_extras(message, step))
        if step.get("workflow"):
            payload["workflow"] = step["workflow"]
        return payload

    def error(self, error: Any, message_uuid: str, status: str) -> dict[str, str]:
        """{type, title, detail, instance}: title the code as a string, type its URL."""
        code = int(error["code"] if isinstance(error, dict) else error)
        known = self.catalogue.get(code)
        given = error.get("reason") if isinstance(error, dict) else None
        detail = given or (f"{known.title} - {known.description}".strip(" -") if known else "")
        instance = uuid.uuid5(uuid.NAMESPACE_URL, f"{message_uuid}/{status}/{code}")
        return {
            "type": f"{ERROR_TYPE}{code}",
            "title": str(code),
            "detail": detail or "Unknown",
            "instance": str(instance),
        }

    def usage(self, message: Message, usage: Any) -> dict[str, str] | None:
        if isinstance(usage, dict):
            return {"currency": CURRENCY, **usage}
        if usage != "auto":
            return None
        if message.channel == "sms":
            return usage_for("sms", message.text or "")
        price = FLAT_PRICES.get(message.channel)
        return None if price is None else {"currency": CURRENCY, "price": f"{price:.4f}"}

    # inbound -------------------------------------------------------------------------

    def inbound(self, event: InboundEvent) -> dict[str, Any]:
        content = dict(event.content)
        kind = content.pop("type", "text")
        payload: dict[str, Any] = {
            "channel": event.channel,
            "message_uuid": event.message_uuid,
            "to": event.business,
            "from": event.customer,
            "timestamp": timestamp(event.when),
            "message_type": kind,
        }
        payload.update(inbound_content(event.channel, kind, content))
        payload.update(inbound_extras(event, kind))
        return payload

    def inbound_types(self) -> dict[str, tuple[str, ...]]:
        return dict(INBOUND_TYPES)

    # checking ------------------------------------------------------------------------

    def problem(self, kind: str, payload: dict[str, Any]) -> str | None:
        """None if ``payload`` is valid for its channel's schema in the document."""
        channel = payload.get("channel")
        key = f"{kind}:{channel}"
        check = self.compiled(key, kind, channel)
        if check is None:
            return f"channel: no {kind} webhook schema for {channel!r} in the v1 document"
        is_valid, validator = check
        if is_valid(payload):
            return None
        errors = validator.iter_errors(payload)
        return "; ".join(f"{dotted(e.absolute_path) or '(payload)'}: {e.message}" for e in errors)

    def compiled(
        self, key: str, kind: str, channel: Any
    ) -> tuple[Callable[[Any], bool], Draft4Validator] | None:
        with self._lock:
            if key not in self._checks:
                schema = self.schema_of(kind, channel)
                if schema is None:
                    return None
                self._checks[key] = compile_schema(schema, self.document.spec)
            return self._checks[key]

    def schema_of(self, kind: str, channel: Any) -> dict[str, Any] | None:
        if kind == "status":
            name = STATUS_SCHEMAS.get(channel)
            return {"$ref": f"#/components/schemas/{name}"} if name else None
        title = INBOUND_TITLES.get(channel)
        for branch in self.inbound_branches():
            ref = branch.get("$ref", "")
            if branch.get("title") == title or ref.endswith(f"inboundMessage{title}"):
                return branch
        return None

    def inbound_branches(self) -> list[dict[str, Any]]:
        hooks = self.document.spec.document["x-webhooks"]["inbound-message"]
        post = next(iter(hooks.values()))["post"]
        return post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]


def compile_schema(
    schema: dict[str, Any], spec: Spec
) -> tuple[Callable[[Any], bool], Draft4Validator]:
    """(fast yes/no, detailed validator) of a schema whose $refs point into the document."""
    root = {"allOf": [schema], "components": {"schemas": spec.schemas}}
    validator = Draft4Validator(root)
    try:
        import jsonschema_rs
    except ImportError:  # no wheel for this platform: same answers, slower
        return validator.is_valid, validator
    return jsonschema_rs.Draft4Validator(root).is_valid, validator


def channel_extras(message: Message, step: dict[str, Any]) -> dict[str, Any]:
    """What only one channel's status carries: SMS parts, WhatsApp pricing."""
    if message.channel == "sms":
        return {"sms": {"count_total": str(sms_segments(message.text or "")[1])}}
    if message.channel == "whatsapp" and step["status"] in ("submitted", "delivered", "read"):
        free_form = message.content_type != "template"
        pricing = {
            "type": "free_customer_service" if free_form else "regular",
            "pricing_model": "PMP",
            "category": "service" if free_form else "utility",
        }
        return {"whatsapp": {"pricing": pricing}}
    return {}


def inbound_content(channel: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """The neutral content's fields under v1's names (v0.1 location's url/name are dropped
    where v1 has no room for them)."""
    if kind == "text":
        return {"text": content.get("text", "")}
    if kind == "location":
        location = content.get("location") or {}
        keep = ("lat", "long", "name", "address")
        return {"location": {k: to_number(k, v) for k, v in location.items() if k in keep}}
    return dict(content)


def to_number(key: str, value: Any) -> Any:
    """v1 locations give lat/long as numbers; the neutral content holds strings."""
    if key in ("lat", "long") and isinstance(value, str):
        return float(value)
    return value


def inbound_extras(event: InboundEvent, kind: str) -> dict[str, Any]:
    """What one channel's inbound message carries besides its content."""
    if event.channel == "sms":
        text = event.content.get("text") or ""
        return {"sms": {"num_messages": str(sms_segments(text)[1])}}
    if event.channel == "whatsapp":
        return {"context_status": "none", "profile": {"name": WHATSAPP_PROFILE_NAME}}
    if event.channel == "rcs":
        return {"context_status": "none"}
    return {}
