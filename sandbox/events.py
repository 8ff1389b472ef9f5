"""Build webhook payloads: MessageStatus and InboundMessage, exactly as the platform sent them.

Timestamps are ISO 8601 UTC with milliseconds and ``Z``; ``client_ref`` is echoed; SMS
``usage`` is priced per segment (GSM-7 160/153, UCS-2 70/67, extension characters count
twice). Bodies are serialised the way JavaScript's ``JSON.stringify`` writes them back
(compact, UTF-8, key order kept: ``jsontext``), so signature checks that re-serialise match.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("|^€{}[]~\\\f")
CURRENCY = "EUR"
# EUR per SMS segment. Only SMS statuses carried a computed usage (behaviour.md §6).
SMS_RATE = Decimal("0.0333")
MEDIA_EXTENSIONS = {
    "image": ".jpg",
    "audio": ".mp3",
    "video": ".mp4",
    "file": ".pdf",
    "vcard": ".vcf",  # v1 only, as are the types below
    "sticker": ".webp",
}


def timestamp(epoch: float) -> str:
    """2019-04-09T12:26:47.242Z"""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sms_segments(text: str) -> tuple[str, int]:
    """('GSM-7' | 'UCS-2', number of parts) for an SMS text."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = len(text) + sum(c in GSM7_EXTENSION for c in text)
        return "GSM-7", 1 if units <= 160 else math.ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def usage_for(channel: str, text: str) -> dict[str, str] | None:
    """The charge of an SMS: its segment count times the rate (None on other channels)."""
    if channel != "sms":
        return None
    return {"currency": CURRENCY, "price": f"{SMS_RATE * sms_segments(text)[1]:.4f}"}


def address(side: Any) -> dict[str, str]:
    """The to/from object of a request, reduced to the fields the schema knows."""
    side = side if isinstance(side, dict) else {}
    return {k: side[k] for k in ("type", "id", "number") if isinstance(side.get(k), str)}


def status_payload(
    message_uuid: str,
    to: dict[str, str],
    sender: dict[str, str],
    text: str,
    client_ref: str | None,
    step: dict[str, Any],
    when: float,
    error_reasons: dict[int, str],
) -> dict[str, Any]:
    """A MessageStatus for ``step`` ({status, error?, usage?}) of an outbound message."""
    payload: dict[str, Any] = {
        "message_uuid": message_uuid,
        "to": to,
        "from": sender,
        "timestamp": timestamp(when),
        "status": step["status"],
    }
    if step.get("error") is not None:
        payload["error"] = error_object(step["error"], error_reasons)
    usage = step.get("usage")
    if usage == "auto":
        usage = usage_for(to.get("type", ""), text)
    if isinstance(usage, dict):
        payload["usage"] = {"currency": CURRENCY, **usage}
    if client_ref is not None:
        payload["client_ref"] = client_ref
    return payload


def error_object(error: Any, reasons: dict[int, str]) -> dict[str, Any]:
    """{code, reason}: the reason from the spec's x-errors unless the script gave one."""
    if isinstance(error, dict):
        code = int(error["code"])
        return {"code": code, "reason": error.get("reason") or reasons.get(code, "Unknown")}
    return {"code": int(error), "reason": reasons.get(int(error), "Unknown")}


def inbound_payload(
    message_uuid: str,
    channel: str,
    customer: str,
    business: str,
    content: dict[str, Any],
    when: float,
) -> dict[str, Any]:
    """An InboundMessage from ``customer`` to ``business`` (plus direction: inbound)."""
    field = "id" if channel == "messenger" else "number"
    return {
        "message_uuid": message_uuid,
        "to": {"type": channel, field: business},
        "from": {"type": channel, field: customer},
        "timestamp": timestamp(when),
        "message": {"content": content},
        "direction": "inbound",
    }


def neutral_location(content: dict[str, Any]) -> dict[str, Any]:
    """Coordinates as the neutral content keeps them: strings (v0.1's schema types them so;
    v1's renderer turns them into numbers), whichever the caller gave."""
    location = content.get("location")
    if not isinstance(location, dict):
        return content
    numbers = {
        key: repr(value)
        for key, value in location.items()
        if key in ("lat", "long") and isinstance(value, int | float) and not isinstance(value, bool)
    }
    return {**content, "location": {**location, **numbers}} if numbers else content


class ContentFaker:
    """Inbound content with Faker filling what the caller left out; seeded per message."""

    def __init__(self) -> None:
        from faker import Faker

        self.faker = Faker()

    def seed(self, seed: int) -> None:
        self.faker.seed_instance(seed)

    def content(self, requested: dict[str, Any] | None) -> dict[str, Any]:
        """A complete content object of the requested type (text when none is named)."""
        requested = dict(requested or {})
        kind = requested.get("type", "text")
        generated: dict[str, Any] = {"type": kind}
        if kind == "text":
            generated["text"] = self.faker.sentence(nb_words=8)
        elif kind == "location":
            generated["location"] = self.location()
        elif kind in MEDIA_EXTENSIONS:
            generated[kind] = {"url": self.media_url(kind)}
        elif kind in V1_ONLY:
            generated[kind] = getattr(self, kind)()
        return neutral_location(merge(generated, requested))

    # v1's interactive inbound types (WhatsApp, RCS)

    def reply(self) -> dict[str, str]:
        return {"id": f"row{self.faker.random_int(1, 9)}", "title": self.faker.sentence(nb_words=3)}

    def button(self) -> dict[str, Any]:
        text = self.faker.word().capitalize()
        return {"payload": {"value": text.lower()}, "text": text, "subtype": "quick_reply"}

    def reaction(self) -> dict[str, str]:
        return {"action": "react", "emoji": self.faker.random_element(["👍", "❤️", "😂", "🙏"])}

    def order(self) -> dict[str, Any]:
        item = {
            "product_retailer_id": self.faker.bothify("SKU-####"),
            "quantity": str(self.faker.random_int(1, 3)),
            "item_price": f"{self.faker.random_int(100, 9999) / 100:.2f}",
            "currency": CURRENCY,
        }
        return {"catalog_id": self.faker.numerify("#" * 15), "product_items": [item]}

    def media_url(self, kind: str) -> str:
        return f"https://{self.faker.domain_name()}/{self.faker.uuid4()}{MEDIA_EXTENSIONS[kind]}"

    def location(self) -> dict[str, str]:
        lat, long = self.faker.latitude(), self.faker.longitude()
        return {
            "lat": f"{lat:.7f}",
            "long": f"{long:.7f}",
            "url": f"https://maps.example.com/?q={lat:.7f},{long:.7f}",
            "address": self.faker.address().replace("\n", ", "),
            "name": self.faker.company(),
        }


V1_ONLY = ("reply", "button", "reaction", "order")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins, key by key, one level of nested objects deep."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
