"""The change feed: what happened in the journal after a cursor (new messages, events that
occurred, delivery attempts). No Flask here.

A cursor is opaque to clients: four numbers (last message seq, last attempt id, last
occurrence time in microseconds, its event id) read from the journal itself, so it stays
valid across restarts with ``--db``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import store as journal
from .events import timestamp
from .store import Store

MAX_CHANGES = 200


@dataclass(frozen=True)
class Cursor:
    seq: int = 0
    attempt: int = 0
    occurred_us: int = 0
    event: int = 0

    def __str__(self) -> str:
        return f"{self.seq}.{self.attempt}.{self.occurred_us}.{self.event}"

    @classmethod
    def parse(cls, raw: str) -> Cursor:
        """``0`` (the beginning) or a cursor this feed gave out; ValueError otherwise."""
        if raw == "0":
            return cls()
        parts = raw.split(".")
        if len(parts) != 4 or not all(p.isdigit() and len(p) < 19 for p in parts):
            raise ValueError(f"must be 0 or a cursor from an earlier answer; got {raw!r}")
        return cls(*(int(p) for p in parts))


def head(store: Store) -> Cursor:
    """The cursor of 'now': nothing before it is news."""
    row = journal.feed_head(store)
    return Cursor(row["seq"], row["attempt"], row["occurred_us"] or 0, row["event"] or 0)


def changes(store: Store, since: Cursor, limit: int = MAX_CHANGES) -> dict[str, Any]:
    """What changed after ``since``, the cursor after it, and whether more is waiting."""
    messages = journal.messages_after(store, since.seq, limit)
    events = journal.occurrences_after(store, since.occurred_us, since.event, limit)
    attempts = journal.attempts_after(store, since.attempt, limit)
    cursor = Cursor(
        messages[-1]["seq"] if messages else since.seq,
        attempts[-1]["id"] if attempts else since.attempt,
        events[-1]["occurred_us"] if events else since.occurred_us,
        events[-1]["id"] if events else since.event,
    )
    items = [message_change(r) for r in messages]
    items += [event_change(r) for r in events]
    items += [attempt_change(r) for r in attempts]
    more = limit in (len(messages), len(events), len(attempts))
    return {"cursor": str(cursor), "changes": items, "more": more}


def message_change(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "message_uuid": row["uuid"],
        "direction": row["direction"],
        "channel": row["channel"],
        "status": row["status"],
    }


def event_change(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "event",
        "message_uuid": row["message_uuid"],
        "event_id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "state": row["state"],
        "at": timestamp(row["occurred_at"]),
    }


def attempt_change(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "attempt",
        "message_uuid": row["message_uuid"],
        "event_id": row["event_id"],
        "attempt_id": row["id"],
        "status_code": row["status_code"],
        "error": row["error"],
        "state": row["state"],
    }
