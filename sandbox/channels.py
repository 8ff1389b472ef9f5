"""Channel rules the schema cannot express, from the document's descriptions (behaviour.md §7).

The schema gives types, enums and its own limits; this module adds what only the prose
says: which content types a channel takes, its text limit, which address field it uses,
number formats, required named objects, Messenger tags, WhatsApp locales and the
40-character client_ref. Each check returns ``InvalidParameter`` values; none raises.

The rule above these: never refuse what the real API accepted. Vonage's own published v0.1
requests (tests/published/v0_1) all pass; docs/rules.md gives every rule and its source.
What the real platform refused only after a 202 (template names and parameters: 1022,
media types and URLs: 1380/1382) is not refused here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .problems import InvalidParameter

E164 = re.compile(r"[1-9][0-9]{6,14}")
SHORT_CODE = re.compile(r"[0-9]{5,6}")
# A sender id has a letter; its length is the schema's (carriers, not the API, cut at 11).
SENDER_ID = re.compile(r"(?=.*[A-Za-z]).*\S.*")
BCP47 = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
CLIENT_REF_LIMIT = 40
MEDIA_TYPES = ("image", "audio", "video", "file")


@dataclass(frozen=True)
class Channel:
    """What one channel accepts: the document's descriptions, corrected by published requests."""

    name: str
    to_field: str
    from_field: str
    content_types: tuple[str, ...]
    text_limit: int | None = None
    sender: str = "number"


CHANNELS: dict[str, Channel] = {
    "sms": Channel("sms", "number", "number", ("text",), 1000, sender="number_or_sender_id"),
    "mms": Channel("mms", "number", "number", ("image",), sender="short_code_or_number"),
    "viber_service_msg": Channel(
        "viber_service_msg", "number", "id", ("text", "image", "custom"), 1000
    ),
    "messenger": Channel(
        "messenger", "id", "id", ("text", "image", "audio", "video", "file", "custom"), 640
    ),
    "whatsapp": Channel(
        "whatsapp",
        "number",
        "number",
        ("template", "text", "image", "audio", "file", "video", "custom"),
        4096,
    ),
}

E164_NUMBER = (
    "an E.164 number: digits only, country code first, no leading + or 00, "
    "7 to 15 digits (e.g. 447700900000)"
)
NUMBER_FORMAT = f"must be {E164_NUMBER}"


def pick(body: Any, dotted: str, kind: type = object) -> Any:
    """The value at ``a.b.c`` if every step exists and the value is a ``kind``; else None."""
    node = body
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, kind) else None


def got(value: Any) -> str:
    return f"got {value!r}" if len(repr(value)) <= 60 else f"got {repr(value)[:57]}...'"


Check = Callable[[dict[str, Any], Channel], Iterator[InvalidParameter]]


def check_channel_rules(body: dict[str, Any]) -> list[InvalidParameter]:
    """Every rule of the channel named by ``to.type`` (nothing if that is not a channel)."""
    channel = CHANNELS.get(pick(body, "to.type", str) or "")
    violations = list(check_general(body))
    if channel is None:
        return violations
    for check in CHECKS:
        violations.extend(check(body, channel))
    return violations


def check_general(body: dict[str, Any]) -> Iterator[InvalidParameter]:
    """Rules of every channel: client_ref length, and the optional callback URL."""
    ref = pick(body, "client_ref", str)
    if ref is not None and len(ref) > CLIENT_REF_LIMIT:
        yield InvalidParameter(
            "client_ref", f"must be at most {CLIENT_REF_LIMIT} characters; got {len(ref)}"
        )
    callback = body.get("callback")
    if callback is not None and not is_http_url(callback):
        yield InvalidParameter(
            "callback",
            f"must be an absolute http or https URL for status webhooks; {got(callback)}",
        )


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_same_type(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    from_type = pick(body, "from.type", str)
    if from_type is not None and from_type != channel.name:
        yield InvalidParameter(
            "from.type", f"must be the same as to.type ({channel.name}); got {from_type!r}"
        )


def check_addresses(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    # The field the channel does not use is ignored, not refused: nothing shows a refusal.
    for side, wanted in (("to", channel.to_field), ("from", channel.from_field)):
        if pick(body, f"{side}.{wanted}") is None and isinstance(body.get(side), dict):
            other = "id" if wanted == "number" else "number"
            hint = (
                f" (it addresses by {wanted}, not {other})" if pick(body, f"{side}.{other}") else ""
            )
            yield InvalidParameter(f"{side}.{wanted}", f"is required for {channel.name}{hint}")


def check_numbers(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    to_number = pick(body, "to.number", str)
    if channel.to_field == "number" and to_number is not None and not E164.fullmatch(to_number):
        yield InvalidParameter("to.number", f"{NUMBER_FORMAT}; {got(to_number)}")
    sender = pick(body, "from.number", str)
    if channel.from_field != "number" or sender is None:
        return
    if channel.sender == "short_code_or_number" and not (
        SHORT_CODE.fullmatch(sender) or E164.fullmatch(sender)
    ):
        yield InvalidParameter(
            "from.number",
            f"must be a short code of 5 or 6 digits or {E164_NUMBER} for mms; {got(sender)}",
        )
    elif channel.sender == "number_or_sender_id" and not (
        E164.fullmatch(sender) or SENDER_ID.fullmatch(sender)
    ):
        yield InvalidParameter(
            "from.number",
            f"{NUMBER_FORMAT}, or an alphanumeric sender ID (at least one letter); {got(sender)}",
        )
    elif channel.sender == "number" and not E164.fullmatch(sender):
        yield InvalidParameter("from.number", f"{NUMBER_FORMAT}; {got(sender)}")


def check_content(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    content_type = pick(body, "message.content.type", str)
    content = pick(body, "message.content", dict)
    if content is None or content_type is None:
        return
    if content_type not in channel.content_types:
        yield InvalidParameter(
            "message.content.type",
            f"{content_type!r} is not supported by {channel.name}; "
            f"it supports {', '.join(channel.content_types)}",
        )
    elif content.get(content_type) is None:
        yield InvalidParameter(
            f"message.content.{content_type}",
            f"is required when message.content.type is {content_type}",
        )


def check_text(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    text = pick(body, "message.content.text", str)
    if pick(body, "message.content.type", str) != "text" or text is None:
        return
    if channel.text_limit is not None and len(text) > channel.text_limit:
        yield InvalidParameter(
            "message.content.text",
            f"must be at most {channel.text_limit} characters for {channel.name}; got {len(text)}",
        )


def check_media(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    # Only a missing URL is refused: the platform fetched the file after the 202 and
    # reported a bad URL, type or size as 1380/1381/1382 in the status webhook.
    media_type = pick(body, "message.content.type", str)
    if media_type in MEDIA_TYPES and media_type in channel.content_types:
        media = pick(body, f"message.content.{media_type}", dict)
        if media is not None and media.get("url") is None:
            yield InvalidParameter(f"message.content.{media_type}.url", "is required")


def check_template(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    # Only a missing name is refused: a wrong namespace or parameters was 1022 after the 202.
    template = pick(body, "message.content.template", dict)
    if pick(body, "message.content.type", str) != "template" or template is None:
        return
    if template.get("name") is None:
        yield InvalidParameter("message.content.template.name", "is required")


def check_options(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    if channel.name == "messenger":
        category = pick(body, "message.messenger.category", str)
        if category == "message_tag" and pick(body, "message.messenger.tag") is None:
            yield InvalidParameter(
                "message.messenger.tag",
                "is required when message.messenger.category is message_tag",
            )
    if channel.name == "whatsapp":
        locale = pick(body, "message.whatsapp.locale", str)
        if locale is not None and not BCP47.fullmatch(locale):
            yield InvalidParameter(
                "message.whatsapp.locale", f"must be a BCP 47 locale such as en-GB; {got(locale)}"
            )


CHECKS: tuple[Check, ...] = (
    check_same_type,
    check_addresses,
    check_numbers,
    check_content,
    check_text,
    check_media,
    check_template,
    check_options,
)
