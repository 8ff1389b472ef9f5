"""Channel rules the schema cannot express, from the document's descriptions (behaviour.md §7).

The schema gives types, enums and its own limits; this module adds what only the prose
says: which content types a channel takes, its text limit, which address field it uses,
number formats, media extensions, templates, Messenger tags, WhatsApp locales and the
40-character client_ref. Each check returns ``InvalidParameter`` values; none raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .problems import InvalidParameter
from .webhook_urls import webhook_url_error

E164 = re.compile(r"[1-9][0-9]{6,14}")
SHORT_CODE = re.compile(r"[0-9]{5,6}")
SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9 ]{0,10}")
TEMPLATE_NAME = re.compile(r"[^:\s]+:[^:\s]+")
BCP47 = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
CLIENT_REF_LIMIT = 40
MEDIA_TYPES = ("image", "audio", "video", "file")

IMAGES = (".jpg", ".jpeg", ".png")
IMAGES_AND_GIF = (*IMAGES, ".gif")
ANY_EXTENSION = None


@dataclass(frozen=True)
class Channel:
    """What one channel accepts, as the document's descriptions state it."""

    name: str
    to_field: str
    from_field: str
    content_types: tuple[str, ...]
    text_limit: int | None = None
    media: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    sender: str = "number"


CHANNELS: dict[str, Channel] = {
    "sms": Channel("sms", "number", "number", ("text",), 1000, sender="number_or_sender_id"),
    "mms": Channel(
        "mms", "number", "number", ("image",), media={"image": IMAGES_AND_GIF}, sender="short_code"
    ),
    "viber_service_msg": Channel(
        "viber_service_msg", "number", "id", ("text", "image"), 1000, media={"image": IMAGES}
    ),
    "messenger": Channel(
        "messenger",
        "id",
        "id",
        ("text", "image", "audio", "video", "file"),
        640,
        media={
            "image": IMAGES_AND_GIF,
            "audio": (".mp3",),
            "video": (".mp4",),
            "file": ANY_EXTENSION,
        },
    ),
    "whatsapp": Channel(
        "whatsapp",
        "number",
        "number",
        ("template", "text", "image", "audio", "file", "video"),
        4096,
        media={
            "image": IMAGES,
            "audio": (".aac", ".m4a", ".amr", ".mp3", ".opus"),
            "video": (".mp4",),
            "file": (".pdf", ".doc", ".docx", ".ppt", ".pptx", ".xls", ".xlsx"),
        },
    ),
}

NUMBER_FORMAT = (
    "must be an E.164 number: digits only, country code first, no leading + or 00, "
    "7 to 15 digits (e.g. 447700900000)"
)


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
    reason = webhook_url_error(callback) if callback is not None else None
    if reason:
        yield InvalidParameter("callback", reason)


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
    for side, wanted in (("to", channel.to_field), ("from", channel.from_field)):
        other = "id" if wanted == "number" else "number"
        if pick(body, f"{side}.{other}") is not None:
            yield InvalidParameter(
                f"{side}.{other}",
                f"is not used by {channel.name}; give {side}.{wanted} instead",
            )
        if pick(body, f"{side}.{wanted}") is None and isinstance(body.get(side), dict):
            yield InvalidParameter(f"{side}.{wanted}", f"is required for {channel.name}")


def check_numbers(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    to_number = pick(body, "to.number", str)
    if channel.to_field == "number" and to_number is not None and not E164.fullmatch(to_number):
        yield InvalidParameter("to.number", f"{NUMBER_FORMAT}; {got(to_number)}")
    sender = pick(body, "from.number", str)
    if channel.from_field != "number" or sender is None:
        return
    if channel.sender == "short_code" and not SHORT_CODE.fullmatch(sender):
        yield InvalidParameter(
            "from.number", f"must be a US short code of 5 or 6 digits for mms; {got(sender)}"
        )
    elif channel.sender == "number_or_sender_id" and not (
        E164.fullmatch(sender) or SENDER_ID.fullmatch(sender)
    ):
        yield InvalidParameter(
            "from.number",
            f"{NUMBER_FORMAT}, or an alphanumeric sender ID of up to 11 letters, digits "
            f"and spaces; {got(sender)}",
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
    media_type = pick(body, "message.content.type", str)
    media = pick(body, f"message.content.{media_type}", dict) if media_type else None
    if media_type not in MEDIA_TYPES or media_type not in channel.media or media is None:
        return
    name = f"message.content.{media_type}.url"
    url = media.get("url")
    if url is None:
        yield InvalidParameter(name, "is required")
        return
    if not isinstance(url, str):
        return
    yield from check_media_url(name, url, channel.media[media_type], channel, media_type)


def check_media_url(
    name: str, url: str, extensions: tuple[str, ...] | None, channel: Channel, media_type: str
) -> Iterator[InvalidParameter]:
    if not is_http_url(url):
        yield InvalidParameter(name, f"must be an absolute http or https URL; {got(url)}")
        return
    if extensions is ANY_EXTENSION:
        return
    path = urlsplit(url).path.lower()
    if not path.endswith(extensions):
        suffix = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else "no extension"
        yield InvalidParameter(
            name,
            f"must end in {', '.join(extensions)} for a {channel.name} {media_type}; got {suffix}",
        )


def check_template(body: dict[str, Any], channel: Channel) -> Iterator[InvalidParameter]:
    template = pick(body, "message.content.template", dict)
    if pick(body, "message.content.type", str) != "template" or template is None:
        return
    name = template.get("name")
    if name is None:
        yield InvalidParameter("message.content.template.name", "is required")
    elif isinstance(name, str) and not TEMPLATE_NAME.fullmatch(name):
        yield InvalidParameter(
            "message.content.template.name",
            f"must be 'namespace:name' (your WhatsApp namespace, a colon, the template "
            f"name); {got(name)}",
        )
    parameters = template.get("parameters")
    for index, item in enumerate(parameters if isinstance(parameters, list) else []):
        if isinstance(item, dict) and "default" not in item:
            yield InvalidParameter(
                f"message.content.template.parameters[{index}].default",
                "is required: the text that fills {{" + str(index + 1) + "}}",
            )


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
