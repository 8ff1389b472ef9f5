"""Messages API v1 requests: a send body -> a version-neutral Message, or a 422 Problem.

The flat v1 body names its channel and message type; they pick the one schema of the
document that describes it (OutboundSMSText, OutboundWhatsAppTemplate …), so a body is
checked against its own schema rather than the document's 40-way ``oneOf`` (whose only
error would be "valid under none"). Each violation is sorted into the document's error
type by the field it concerns. Validators compile once per schema and are reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match

from ..message import Message
from ..problems import InvalidParameter
from ..spec import Spec
from ..validation import json_type, translate, unique_by_name
from ..webhook_urls import webhook_url_error
from .v1_document import V1Document, load_v1
from .v1_errors import V1Errors

VERSION = "v1"
CLIENT_REF_LIMIT = 100  # outboundMessageCommon.client_ref: "Client reference of up to 100…"
DEFAULT_WEBHOOK_VERSION = "v1"  # a v1 send's webhooks, unless it asks for v0.1
REVOCABLE = (None, "submitted", "rejected", "undeliverable")  # not delivered, not read
ADDRESS_KINDS = {"to": "recipient", "from": "sender", "client_ref": "client_ref"}


def v1_parser(spec: Spec | None = None) -> V1Parser:
    """The registry's factory: v1 parses with its own document, not v0.1's ``spec``."""
    document = load_v1()
    return V1Parser(document, V1Errors(document))


class V1Parser:
    """Checks v1 send and update bodies against the document; builds Messages."""

    def __init__(self, document: V1Document, errors: V1Errors) -> None:
        self.document = document
        self.errors = errors
        self._checks: dict[str, tuple[Callable[[Any], bool], Draft4Validator]] = {}
        self._lock = threading.Lock()

    def message(self, body: Any) -> Message:
        """The Message a send body asks for; raises the 422 Problem of its first fault."""
        found = list(self.violations(body, ""))
        if found:
            raise self.errors.first(found)
        return self.build(body)

    def parse(self, body: Any) -> Message:
        """``versions.RequestParser``: the v1 parser registered in ``versions``."""
        return self.message(body)

    def build(self, body: dict[str, Any]) -> Message:
        return to_message(body)

    # checking ------------------------------------------------------------------------

    def violations(self, body: Any, prefix: str) -> Iterator[tuple[str, InvalidParameter]]:
        """(error kind, violation) for everything wrong with one message (and its failovers)."""
        if not isinstance(body, dict):
            yield (
                "message_params",
                at(prefix or "(body)", f"must be a JSON object; got {json_type(body)}"),
            )
            return
        schema = yield from self.schema_for(body, prefix)
        if schema is None:
            return
        yield from self.schema_violations(schema, body, prefix)
        ref = body.get("client_ref")
        if isinstance(ref, str) and len(ref) > CLIENT_REF_LIMIT:
            yield (
                "client_ref",
                at(
                    prefix + "client_ref",
                    f"must be at most {CLIENT_REF_LIMIT} characters; got {len(ref)}",
                ),
            )
        url = body.get("webhook_url")
        if isinstance(url, str) and (reason := webhook_url_error(url)):  # as v0.1's callback
            yield "message_params", at(prefix + "webhook_url", reason)
        if not prefix:  # failover messages are checked like the main one; no nested failover
            yield from self.failover_violations(body.get("failover"))

    def schema_for(
        self, body: dict[str, Any], prefix: str
    ) -> Iterator[tuple[str, InvalidParameter]]:
        """The schema of this channel and message type, after reporting a wrong one."""
        table = self.document.message_schemas
        channel, kind = body.get("channel"), body.get("message_type")
        if not isinstance(channel, str) or channel not in table:  # ({} is not hashable)
            yield (
                "channel",
                at(prefix + "channel", f"must be one of {', '.join(table)}; got {shown(channel)}"),
            )
            return None
        if not isinstance(kind, str) or kind not in table[channel]:
            allowed = ", ".join(table[channel])
            yield (
                "message_type",
                at(
                    prefix + "message_type",
                    f"on {channel} must be one of {allowed}; got {shown(kind)}",
                ),
            )
            return None
        return table[channel][kind]

    def schema_violations(
        self, schema: str, body: dict[str, Any], prefix: str
    ) -> Iterator[tuple[str, InvalidParameter]]:
        is_valid, validator = self.compiled(schema)
        if is_valid(body):
            return
        # A field can be constrained twice (Image and OutboundWhatsAppImage both require
        # image.url): the first reason given for each name is kept.
        found = [
            v for error in validator.iter_errors(body) for v in translate(most_specific(error))
        ]
        for violation in unique_by_name(found):
            yield self.kind_of(violation.name), at(prefix + violation.name, violation.reason)

    def failover_violations(self, failover: Any) -> Iterator[tuple[str, InvalidParameter]]:
        if failover is None:
            return
        if not isinstance(failover, list):
            yield "message_params", at("failover", f"must be an array; got {json_type(failover)}")
            return
        for index, item in enumerate(failover):
            yield from self.violations(item, f"failover[{index}].")

    def kind_of(self, name: str) -> str:
        """Which error type a violation of field ``name`` (dotted) belongs to."""
        head = name.replace("[", ".").split(".", 1)[0]
        if head in ADDRESS_KINDS:
            return ADDRESS_KINDS[head]
        if head in self.document.channel_options:
            return "channel_params"
        return "message_params"

    def compiled(self, schema: str) -> tuple[Callable[[Any], bool], Draft4Validator]:
        """(fast yes/no check, detailed validator) of a schema, compiled on first use."""
        with self._lock:
            if schema not in self._checks:
                spec = self.document.spec
                self._checks[schema] = (spec.is_valid(schema), spec.validator(schema))
            return self._checks[schema]

    # updates -------------------------------------------------------------------------

    def update_status(self, body: Any) -> str:
        """The status a PATCH body sets (one the document names); raises a 422 Problem."""
        branches = self.document.update_statuses()
        allowed = sorted({s for statuses in branches.values() for s in statuses})
        status = body.get("status") if isinstance(body, dict) else None
        if not isinstance(body, dict) or status not in allowed:
            got = shown(status) if isinstance(body, dict) else json_type(body)
            reason = f"must be one of {', '.join(allowed)}; got {got}"
            raise self.errors.problem("message_params", [at("status", reason)])
        return status

    def check_update(self, body: dict[str, Any], row: Mapping[str, Any], status: str) -> None:
        """The PATCH body against the message it updates; raises the document's 422."""
        self.check_update_body(body, row["channel"])
        reason = update_refusal(row, status)
        if reason:
            raise self.errors.problem("message_params", [at("status", reason)])

    def check_update_body(self, body: dict[str, Any], channel: str | None) -> None:
        """The PATCH body against the branch of the message's channel; raises a 422 Problem."""
        branches = self.document.update_statuses()
        if channel not in branches:
            raise self.errors.problem(
                "channel",
                detail=f"Only {' and '.join(branches)} messages can be updated; "
                f"this one is {channel}.",
            )
        # Fault: the document's UpdateMessage is a oneOf whose WhatsApp and RCS branches both
        # accept {"status": "read"}, so no body of the most common update passes it. The
        # message's own channel picks its branch instead.
        found = list(self.update_violations(channel, body))
        if found:
            raise self.errors.problem("message_params", found)

    def update_violations(self, channel: str, body: dict[str, Any]) -> Iterator[InvalidParameter]:
        validator = self.update_validator(channel)
        for error in validator.iter_errors(body):
            yield from translate(most_specific(error))

    def update_validator(self, channel: str) -> Draft4Validator:
        key = f"UpdateMessage:{channel}"
        with self._lock:
            if key not in self._checks:
                body = self.document.spec.document["components"]["requestBodies"]["UpdateMessage"]
                branches = body["content"]["application/json"]["schema"]["oneOf"]
                branch = next(b for b in branches if b["title"].lower() == channel)
                validator = Draft4Validator(branch)
                self._checks[key] = (validator.is_valid, validator)
            return self._checks[key][1]


def to_message(body: dict[str, Any], failover: bool = True) -> Message:
    """The Message of a checked body (also the journal's reader after a restart).

    A failover message's own `failover` is not one of its fields in the document (an
    unknown field: ignored, as it was not checked). Its webhook URL is the primary's
    unless it gives its own.
    """
    kind = body["message_type"]
    items = (body.get("failover") or ()) if failover else ()
    webhook_url = body.get("webhook_url")
    return Message(
        api_version=VERSION,
        channel=body["channel"],
        to=body["to"],
        sender=body["from"],
        content_type=kind,
        content={kind: body[kind]} if kind in body else {},
        client_ref=body.get("client_ref"),
        webhook_url=webhook_url,
        webhook_version=body.get("webhook_version", DEFAULT_WEBHOOK_VERSION),
        webhook_version_given="webhook_version" in body,
        category=category_of(body),
        request=body,
        failover=tuple(
            to_message({"webhook_url": webhook_url, **item} if webhook_url else item, False)
            for item in items
        ),
        to_kind=address_kind(body["to"]),
        sender_kind=address_kind(body["from"]),
    )


def category_of(body: dict[str, Any]) -> str | None:
    """The message's channel-options `category` (viber_service, messenger), if given."""
    options = body.get(body["channel"])
    category = options.get("category") if isinstance(options, dict) else None
    return category if isinstance(category, str) else None


def update_refusal(row: Mapping[str, Any], status: str) -> str | None:
    """Why this journaled message cannot take ``status`` (None if it can)."""
    if status == "read" and row["direction"] != "inbound":
        return "can be set to read on an inbound message only; this one is outbound"
    if status == "revoked" and row["direction"] != "outbound":
        return "can be set to revoked on an outbound message only; this one is inbound"
    if status == "revoked" and row["status"] not in REVOCABLE:
        return f"cannot be revoked: the message was already {row['status']}"
    return None


def most_specific(error: ValidationError) -> ValidationError:
    """Inside a oneOf/anyOf (sticker, reaction, suggestions), the alternative that came
    closest, so the reason names the field rather than 'valid under none of'."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        error = best_match(error.context)
    return error


def address_kind(value: str) -> str:
    """v1 has one `to`/`from` field: digits are a number, anything else (a Messenger id, an
    email address, an alphanumeric sender) an id."""
    return "number" if value.isdigit() else "id"


def at(name: str, reason: str) -> InvalidParameter:
    return InvalidParameter(name, reason)


def shown(value: Any) -> str:
    return "nothing" if value is None else repr(value)
