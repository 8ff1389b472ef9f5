"""The life of an event, owned here: planned, occurred (or invalid), attempted, settled.

The engine asks ``accept`` to journal a message with its planned events; the dispatcher
hands each event back when it falls due, and ``occur`` renders it and fixes its payload
and destination, returning a frozen ``Delivery`` (or None: nothing to send). After each
POST ``attempted`` journals the attempt and says the event's new state. Every write of
an event's state goes through this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .message import InboundEvent, Origin
from .scenarios import PlannedEvent
from .signing import signature_header
from .states import EventState
from .store import Occurrence, Store, inbound_row
from .transport import Outcome
from .versions import journaled_message
from .webhooks import Webhook, WebhookBuilder

log = logging.getLogger("sandbox.lifecycle")


@dataclass(frozen=True)
class DueEvent:
    """A planned event of one message: what to emit, and when."""

    event_id: int
    message_uuid: str
    position: int
    kind: str  # status | inbound
    step: dict[str, Any]
    due_at: float
    origin: Origin


@dataclass(frozen=True)
class Delivery:
    """An event that occurred: the exact bytes to POST where, and how its tries went."""

    event_id: int
    message_uuid: str
    position: int
    url: str
    body: bytes
    api_key: str | None = None
    application_id: str | None = None
    attempts: int = 0
    first_attempt_at: float | None = None


Signer = Callable[[Delivery], dict[str, str]]


def signer_for(secret: str | None) -> Signer | None:
    """Signs each attempt's body (a fresh token per attempt), or None when unsigned."""
    if not secret:
        return None
    return lambda d: signature_header(secret, d.body, d.api_key, d.application_id)


class Lifecycle:
    """Turns due events into deliveries and journals every step of their lives."""

    def __init__(self, store: Store, webhooks: WebhookBuilder, clock: Clock) -> None:
        self.store, self.webhooks, self.clock = store, webhooks, clock

    def accept(
        self, row: Mapping[str, Any], planned: Iterable[PlannedEvent], origin: Origin
    ) -> list[DueEvent]:
        """Journal one message with its planned events, in one transaction."""
        planned = list(planned)
        row = {**row, "sandbox_at": self.clock.now()}
        ids = self.store.add_message(row, [vars(e) for e in planned])
        return [
            DueEvent(i, row["uuid"], e.position, e.kind, e.step, e.due_at, origin)
            for i, e in zip(ids, planned, strict=True)
        ]

    def occur(self, due: DueEvent) -> Delivery | None:
        """The event occurs now: render, check and journal it; its Delivery if it is to go."""
        return self.occur_batch([due])[0]

    def occur_batch(self, dues: Sequence[DueEvent]) -> list[Delivery | None]:
        """Many events occur now, journaled in one transaction; a Delivery (or None) each.

        Rendering happens outside the journal's lock; an event that cannot be rendered is
        journaled as invalid on its own and the others go on.
        """
        when = self.clock.now()
        webhooks = [self.render(due, when) for due in dues]
        changes = [
            self.occurrence(due, webhook, when)
            for due, webhook in zip(dues, webhooks, strict=True)
            if webhook is not None
        ]
        kept = self.store.occurred_batch(changes)
        return [
            delivery_of(due, webhook) if webhook and due.event_id in kept else None
            for due, webhook in zip(dues, webhooks, strict=True)
        ]

    def render(self, due: DueEvent, when: float) -> Webhook | None:
        """The event's webhook, or None after journaling why it could not be built."""
        try:
            return self.webhooks.build(due.kind, due.message_uuid, due.step, due.origin, when)
        except Exception as exc:  # a scenario or sandbox bug: journaled, the rest goes on
            self.broken(due, exc)
            return None

    def occurrence(self, due: DueEvent, webhook: Webhook, when: float) -> Occurrence:
        """What the journal records for an event that occurred with this webhook."""
        text = webhook.body.decode("utf-8")
        if webhook.problem:
            log.error("BUG: event %s payload fails the spec: %s", due.event_id, webhook.problem)
            return Occurrence(
                due.event_id,
                due.message_uuid,
                when,
                text,
                None,
                EventState.INVALID,
                problem=webhook.problem,
            )
        state = EventState.PENDING if webhook.url else EventState.UNSENT
        status = due.step.get("status") if due.kind == "status" else None
        reply = None
        if webhook.inbound is not None and due.origin.message is not None:
            reply = {**reply_row(webhook.inbound, due.origin), "sandbox_at": when}
        return Occurrence(
            due.event_id, due.message_uuid, when, text, webhook.url, state, status, reply=reply
        )

    def broken(self, due: DueEvent, exc: BaseException) -> None:
        """A bug while an event occurred: journaled as invalid (never left 'scheduled')."""
        log.error(
            "event %s of %s could not be built",
            due.event_id,
            due.message_uuid,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        try:
            self.store.invalid(due.event_id, self.clock.now(), "", f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("and it could not be journaled either")

    def attempted(
        self,
        delivery: Delivery,
        at: float,
        outcome: Outcome,
        give_up: bool,
        manual: str | None = None,
    ) -> EventState | None:
        """Journal one POST in full; the event's state after it (None: its message was reset).

        ``manual`` is who asked out of schedule: 'retry' (now, instead of at its time) or
        'resend' (a settled event sent again: a failure leaves its state as it was).
        """
        if outcome.ok:
            state = EventState.DELIVERED
        elif manual == "resend":
            state = None
        else:
            state = EventState.FAILED if give_up else EventState.PENDING
        error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status_code}")
        details = {
            "request_headers": outcome.request_headers,
            "response_headers": outcome.response_headers,
            "response_body": body_text(outcome.response_body),
            "response_truncated": outcome.response_truncated,
            "manual": manual,
        }
        still_there = self.store.attempted(
            delivery.event_id,
            delivery.url,
            at,
            outcome.status_code,
            outcome.latency_ms,
            error,
            state,
            details,
        )
        if not still_there:
            return None
        if state is None:  # a failed resend: the state it had
            row = self.store.get_event(delivery.event_id)
            return EventState(row["state"]) if row else None
        return state

    def delivery(self, event_id: int) -> tuple[EventState, Delivery | None] | None:
        """An event's state and, once it occurred with a URL, its delivery (None: no event)."""
        row = self.store.get_event(event_id)
        if row is None:
            return None
        sendable = row["payload"] and row["url"] and row["state"] != EventState.INVALID
        if not sendable:
            return EventState(row["state"]), None
        return EventState(row["state"]), delivery_from_row(row)

    def maintenance_due(self) -> bool:
        return self.store.trim_due

    def when_maintenance_due(self, wakeup: Callable[[], None]) -> None:
        """Call ``wakeup`` whenever a message makes the journal due for a trim."""
        self.store.on_trim_due = wakeup

    def maintain(self) -> int:
        """Between batches: trim the in-memory journal to its retention; how many went."""
        return self.store.trim() if self.store.trim_due else 0

    def open_events(self) -> tuple[list[Delivery], list[DueEvent]]:
        """After a restart: deliveries not yet settled (by position), events not yet due."""
        deliveries, due = [], []
        for row in self.store.open_events():
            if row["state"] == EventState.PENDING and row["payload"]:
                deliveries.append(delivery_from_row(row))
            else:
                due.append(due_from_row(row))
        return sorted(deliveries, key=lambda d: d.position), due


def body_text(body: bytes | None) -> str | None:
    """A response body as journaled text (undecodable bytes replaced: it is for reading)."""
    return None if body is None else body.decode("utf-8", errors="replace")


def reply_row(reply: InboundEvent, origin: Origin) -> dict[str, Any]:
    """A scenario's reply is an inbound message too: listed with the injected ones (once:
    a uuid a seeded run journaled before a restart is not listed again, but its webhook
    still goes out)."""
    return inbound_row(
        reply.message_uuid,
        reply.channel,
        reply.customer,
        reply.business,
        reply.content,
        origin.api_key,
        origin.application_id,
        origin.webhook_version,
    )


def delivery_of(due: DueEvent, webhook: Webhook) -> Delivery | None:
    """What the dispatcher is to send for an event that occurred (None: no URL, or invalid)."""
    if webhook.url is None or webhook.problem:
        return None
    origin = due.origin
    return Delivery(
        due.event_id,
        due.message_uuid,
        due.position,
        webhook.url,
        webhook.body,
        origin.api_key,
        origin.application_id,
    )


def origin_from_row(row: Mapping[str, Any]) -> Origin:
    """Who a journaled event belongs to (its message's row, joined)."""
    request = row["request"]
    if row["direction"] == "inbound":
        return Origin(
            request["channel"],
            request["from"],
            request["to"],
            row["api_key"],
            row["application_id"],
            version=row.get("api_version"),
        )
    message = journaled_message(request, row.get("api_version"))
    return Origin.of(message, row["api_key"], row["application_id"])


def due_from_row(row: Mapping[str, Any]) -> DueEvent:
    return DueEvent(
        row["id"],
        row["message_uuid"],
        row["position"],
        row["kind"],
        row["step"],
        row["due_at"],
        origin_from_row(row),
    )


def delivery_from_row(row: Mapping[str, Any]) -> Delivery:
    return Delivery(
        row["id"],
        row["message_uuid"],
        row["position"],
        row["url"],
        row["payload"].encode("utf-8"),
        row["api_key"],
        row["application_id"],
        row["attempts"],
        row["first_attempt_at"],
    )
