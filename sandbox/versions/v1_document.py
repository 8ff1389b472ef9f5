"""The Messages API v1 document: loaded verbatim, its known faults corrected here, in code.

The shipped file is Vonage's published 1.20.0 document, byte for byte (the checksum pins
it; spec/NOTICE says where it comes from). Everything the v1 adapter needs is read from
it: which schema holds each channel's message type, which top-level fields are channel
options, the eight 422 error types and the ``x-errors`` catalogue. Where the document
contradicts itself, a correction below says what and why (docs/v1.md's rule table too).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from ..resources import data_dir
from ..spec import Spec, read_document

SHIPPED_V1_SPEC = "messages-v1-1.20.0.yml"
# sha256 of spec/messages-v1-1.20.0.yml as published (specs README); tests/test_v1_spec.py
# checks it, so the full OpenAPI check (~0.6 s) is skipped for the shipped copy.
SHIPPED_V1_SHA256 = "7fd1271b59d84d651f7d5a9d42f65bdd79e1d9528e1b8cfc0f258f567219c6a0"
SEND_SCHEMA = "AnyOutboundMessage"

# The 422 answers of SendMessage / UpdateMessage, by what they are about.
ERROR_SCHEMAS = {
    "invalid_json": "ErrorInvalidJson",
    "channel": "ErrorChannel",
    "channel_params": "ErrorChannelParams",
    "sender": "ErrorSender",
    "recipient": "ErrorRecipient",
    "message_type": "ErrorMessageType",
    "message_params": "ErrorMessageParams",
    "client_ref": "ErrorClientReference",
}
# Fault: ErrorRecipient's type example is `…/messages#110`, a digit short of the series the
# other types follow (#1100 channel, #1110 channel params, #1120 sender, #1140 message type,
# #1150 params; x-errors mirrors it as 1400…1450 with 1430 "Invalid recipient").
TYPE_CORRECTIONS = {"recipient": "https://developer.vonage.com/api-errors/messages#1130"}
# Fault: ErrorMessageType's detail is ErrorRecipient's ("The `to` parameter is invalid…")
# and ErrorClientReference's says "up to 40 characters" where client_ref's own description
# says 100: both take the explanation of their x-errors twin instead.
DETAIL_FROM_X_ERRORS = {"message_type": 1440, "client_ref": 1450}


@dataclass(frozen=True)
class ErrorType:
    """One 422 error type of the document: its type URL, title, detail, and whether it lists
    ``invalid_parameters``."""

    type: str
    title: str
    detail: str
    lists_parameters: bool


def load_v1(path: str | Path | None = None) -> V1Document:
    """The v1 document (default: the shipped one), corrected and ready to validate with."""
    return shipped_v1() if path is None else read_v1(Path(path))


@cache
def shipped_v1() -> V1Document:
    """The shipped document, parsed once per process (~0.3 s) and shared: it never changes,
    and what is built from it (validators, tables) is only ever added to."""
    return read_v1(data_dir("spec") / SHIPPED_V1_SPEC)


def read_v1(path: Path) -> V1Document:
    document = corrected(read_document(path, SHIPPED_V1_SHA256))
    return V1Document(Spec(document, str(path), required=SEND_SCHEMA))


def corrected(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its known faults fixed (a copy; the parsed original is untouched)."""
    document = drop_null_properties(copy.deepcopy(document))
    schemas = document["components"]["schemas"]
    for name in [n for n in schemas if n.startswith("messageStatus")]:
        widen_status(schemas, name)
    return document


def drop_null_properties(node: Any) -> Any:
    """Fault: 11 webhook schemas say ``properties:`` with nothing after it (null), which
    is not a schema; jsonschema-rs refuses to compile a document holding one."""
    if isinstance(node, dict):
        return {k: drop_null_properties(v) for k, v in node.items() if not nullish(k, v)}
    if isinstance(node, list):
        return [drop_null_properties(item) for item in node]
    return node


def nullish(key: str, value: Any) -> bool:
    return key == "properties" and value is None


def widen_status(schemas: dict[str, Any], name: str) -> None:
    """Fault: messageStatusRCS/WhatsApp/Messenger/Viber/Email are ``allOf`` their own part
    (``status: {enum: [read]}``) and messageStatusBase (``status: {enum: [submitted,
    delivered, rejected, undeliverable]}``), so no status satisfies both. Intended (the
    channel guides list ``read`` beside the base statuses): the base statuses plus ``read``.
    """
    parts = schemas[name].get("allOf") or []
    base_ref = {"$ref": "#/components/schemas/messageStatusBase"}
    own = [p for p in parts if (p.get("properties") or {}).get("status", {}).get("enum")]
    if base_ref not in parts or not own:
        return
    base = copy.deepcopy(schemas["messageStatusBase"])
    extra = own[0]["properties"].pop("status")["enum"]
    base["properties"]["status"]["enum"] = [*base["properties"]["status"]["enum"], *extra]
    parts[parts.index(base_ref)] = base


class V1Document:
    """What the v1 adapter reads from the document, each worked out once."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    @property
    def errors(self):  # noqa: ANN201 - the x-errors catalogue, as Spec gives it
        return self.spec.errors

    @cached_property
    def message_schemas(self) -> dict[str, dict[str, str]]:
        """channel -> message_type -> the component schema of that message (from the
        branches of AnyOutboundMessage, in the document's order)."""
        table: dict[str, dict[str, str]] = {}
        for name in self.branches(self.spec.schemas[SEND_SCHEMA]):
            channel = self.enum_of(name, "channel")
            message_type = self.enum_of(name, "message_type")
            for value in channel:
                for kind in message_type:
                    table.setdefault(value, {}).setdefault(kind, name)
        return table

    def branches(self, node: dict[str, Any]) -> Iterator[str]:
        """The Outbound… schema named first in each ``allOf`` under the oneOf tree."""
        for branch in node.get("oneOf") or []:
            if "oneOf" in branch:
                yield from self.branches(branch)
            elif branch.get("allOf"):
                yield branch["allOf"][0]["$ref"].rsplit("/", 1)[-1]

    def enum_of(self, name: str, field: str) -> tuple[str, ...]:
        """The enum of ``field`` anywhere in schema ``name``'s allOf tree (first found)."""
        for node in self.walk(self.spec.schemas[name]):
            found = ((node.get("properties") or {}).get(field) or {}).get("enum")
            if found:
                return tuple(found)
        return ()

    def walk(self, node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``node`` and every schema its allOf reaches, following $refs."""
        node = self.spec.resolve(node)
        yield node
        for part in node.get("allOf") or []:
            yield from self.walk(part)

    @cached_property
    def channel_options(self) -> frozenset[str]:
        """Top-level fields the channelOptions… schemas declare (ttl, sms, whatsapp, context…):
        a bad one is a 'channel parameters' error, not a 'message parameters' one."""
        names = {
            field
            for name, schema in self.spec.schemas.items()
            if name.startswith("channelOptions")
            for field in schema.get("properties") or {}
        }
        return frozenset(names - {"to", "from", "channel"})

    @cached_property
    def error_types(self) -> dict[str, ErrorType]:
        """The eight 422 types, read from the Error… schemas' examples (corrected above)."""
        return {kind: self.error_type(kind, name) for kind, name in ERROR_SCHEMAS.items()}

    def error_type(self, kind: str, name: str) -> ErrorType:
        properties = self.spec.schemas[name]["properties"]
        detail = properties["detail"]["example"]
        if kind in DETAIL_FROM_X_ERRORS:
            detail = self.errors[DETAIL_FROM_X_ERRORS[kind]].description
        return ErrorType(
            TYPE_CORRECTIONS.get(kind, properties["type"]["example"]),
            properties["title"]["example"],
            detail,
            "invalid_parameters" in properties,
        )

    def update_statuses(self) -> dict[str, tuple[str, ...]]:
        """UpdateMessage: the statuses each channel branch of the PATCH body allows."""
        body = self.spec.document["components"]["requestBodies"]["UpdateMessage"]
        branches = body["content"]["application/json"]["schema"]["oneOf"]
        return {
            branch["title"].lower(): tuple(branch["properties"]["status"]["enum"])
            for branch in branches
        }
