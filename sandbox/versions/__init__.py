"""API versions as adapters at the edges: a request parser and a webhook renderer per version.

A version contributes its document, a parser that turns its request body into the neutral
``Message`` (raising a Problem for what its document refuses), and a renderer that turns
neutral events into its webhook bodies. ``WEBHOOK_RENDERERS`` maps a ``webhook_version``
to a factory of its renderer; a new version registers its own with ``register``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from ..message import InboundEvent, Message, StatusEvent
from ..spec import Spec
from . import v0_1, v1, v1_webhooks

DEFAULT_WEBHOOK_VERSION = v0_1.VERSION


class WebhookRenderer(Protocol):
    """Renders neutral events as one version's webhook bodies, and checks them."""

    def status(self, event: StatusEvent) -> dict[str, Any]: ...

    def inbound(self, event: InboundEvent) -> dict[str, Any]: ...

    def problem(self, kind: str, payload: dict[str, Any]) -> str | None:
        """None if ``payload`` (of kind status | inbound) is valid for the version's document."""
        ...

    def inbound_types(self) -> dict[str, tuple[str, ...]]:
        """channel -> the content types an inbound message on it can have, in this version."""
        ...


class RequestParser(Protocol):
    """One version's request bodies -> Message, or a Problem in that version's error shape."""

    def parse(self, body: Any) -> Message: ...


@runtime_checkable
class MessageUpdater(Protocol):
    """A version that lets clients update a message (v1's PATCH): its body's status, and
    whether the journaled message can take it (raising a Problem in its error shape)."""

    def update_status(self, body: Any) -> str: ...

    def check_update(self, body: dict[str, Any], row: Mapping[str, Any], status: str) -> None: ...


RendererFactory = Callable[[Spec], WebhookRenderer]
REQUEST_PARSERS: dict[str, Callable[[Spec], RequestParser]] = {
    v0_1.VERSION: v0_1.Parser,
    v1.VERSION: v1.v1_parser,
}
WEBHOOK_RENDERERS: dict[str, RendererFactory] = {
    v0_1.VERSION: v0_1.WebhookShapes,
    v1.VERSION: v1_webhooks.V1Webhooks,
}
JOURNAL_READERS: dict[str, Callable[[dict[str, Any]], Message]] = {
    v0_1.VERSION: v0_1.to_message,
    v1.VERSION: v1.to_message,
}


def register(
    version: str,
    renderer: RendererFactory,
    parser: Callable[[Spec], RequestParser] | None = None,
) -> None:
    """Plug in ``version``'s webhook renderer (and request parser), e.g. v1's (issue #13)."""
    WEBHOOK_RENDERERS[version] = renderer
    if parser is not None:
        REQUEST_PARSERS[version] = parser


def parsers(spec: Spec) -> dict[str, RequestParser]:
    """One request parser per registered API version, each built once."""
    return {version: factory(spec) for version, factory in REQUEST_PARSERS.items()}


def renderers(spec: Spec) -> dict[str, WebhookRenderer]:
    """One renderer per registered webhook version, each built once."""
    return {version: factory(spec) for version, factory in WEBHOOK_RENDERERS.items()}


def journaled_message(request: dict[str, Any], api_version: str | None = None) -> Message:
    """A journaled request back into its Message (after a restart); it was valid when taken.

    Rows journaled before the API version was recorded are v0.1's (the only one then).
    """
    return JOURNAL_READERS[api_version or v0_1.VERSION](request)


def catalogues(spec: Spec) -> dict[str, Any]:
    """Each API version's x-errors catalogue (magic recipients are made from each)."""
    return {v0_1.VERSION: spec.errors, v1.VERSION: v1.load_v1().errors}
