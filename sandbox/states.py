"""The states of an event's life, one vocabulary for the journal, the engine and the API."""

from __future__ import annotations

from enum import StrEnum


class EventState(StrEnum):
    """Where an event is: waiting for its time, being delivered, or settled one way."""

    SCHEDULED = "scheduled"  # planned, not yet due
    PENDING = "pending"  # occurred; its webhook is being delivered (or retried)
    DELIVERED = "delivered"  # the receiver answered 2xx
    UNSENT = "unsent"  # occurred with no URL to send it to: journaled only
    FAILED = "failed"  # given up after the retry window
    INVALID = "invalid"  # its payload could not be built or fails the spec: a sandbox bug


OPEN_STATES = (EventState.SCHEDULED, EventState.PENDING)
SETTLED_STATES = (EventState.DELIVERED, EventState.UNSENT, EventState.FAILED)
ARRIVED_STATES = (EventState.DELIVERED, EventState.UNSENT)
