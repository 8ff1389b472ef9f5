"""What the admin API shows: filtered pages of messages and webhooks, one message in full,
and waits that return as soon as something matching exists. No Flask here.

A wait blocks on the journal's change condition (no polling). On a manual clock it moves
the clock to the next due event itself, so a test that waits never has to touch time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from .events import timestamp
from .problems import InvalidParameter, invalid_params
from .states import SETTLED_STATES, EventState
from .store import EVENT_COLUMNS_BY_FILTER, MESSAGE_COLUMNS_BY_FILTER, SCOPE_FILTER, Query, Store
from .timeline import Timeline

MESSAGE_FILTERS = (*MESSAGE_COLUMNS_BY_FILTER, SCOPE_FILTER)
WEBHOOK_FILTERS = (*EVENT_COLUMNS_BY_FILTER, SCOPE_FILTER)
SETTLED = tuple(SETTLED_STATES)
MAX_LIMIT = 500
MAX_CURSOR = 2**63 - 1  # SQLite's largest integer
MAX_WAIT = 60.0
ARRIVED_SHOWN = 20


def parse_time(raw: str) -> float:
    """ISO 8601 (``2026-01-01T12:00:00Z``) or seconds since the epoch."""
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"must be an ISO 8601 time or epoch seconds; got {raw!r}") from None


def parse_query(params: Mapping[str, str], filters: Sequence[str]) -> Query:
    """Query-string parameters -> Query; a 400 listing every parameter that is wrong."""
    equals, problems, extra = {}, [], {}
    for name, raw in params.items():
        try:
            if name in filters:
                equals[name] = tuple(v for v in raw.split(",") if v != "")
            elif name in ("since", "until"):
                extra[name] = parse_time(raw)
            elif name in ("limit", "before"):
                extra[name] = parse_int(raw, 1, MAX_LIMIT if name == "limit" else MAX_CURSOR)
            elif name not in ("timeout", "for"):
                raise ValueError(f"is not a filter; use one of {', '.join(filters)}, since, until")
        except ValueError as exc:
            problems.append(InvalidParameter(name, str(exc)))
    if problems:
        raise invalid_params(problems)
    return Query(equals={k: v for k, v in equals.items() if v}, **extra)


def parse_int(raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number; got {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"must be between {low} and {high}")
    return value


def when(value: float | None) -> str | None:
    return None if value is None else timestamp(value)


def message_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "message_uuid": row["uuid"],
        "direction": row["direction"],
        "received_at": when(row["received_at"]),
        "sandbox_at": when(row.get("sandbox_at")),
        "api_key": row["api_key"],
        "application_id": row["application_id"],
        "channel": row["channel"],
        "to": row["to_addr"],
        "from": row["from_addr"],
        "client_ref": row["client_ref"],
        "status": row["status"],
        "response_status": row["response_status"],
        "scenario": row["scenario"],
        "rule": row["rule"],
        "api_version": row.get("api_version"),
        "workflow_id": row.get("workflow_id"),
    }


def attempt_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """One POST as journaled: the request's headers, the receiver's answer (its body cut to
    transport.RESPONSE_KEPT bytes); attempts journaled before schema 4 have no details."""
    return {
        "id": row["id"],
        "url": row["url"],
        "at": when(row["at"]),
        "status_code": row["status_code"],
        "latency_ms": row["latency_ms"],
        "error": row["error"],
        "manual": row.get("manual"),
        "request_headers": json_or_none(row.get("request_headers")),
        "response": {
            "headers": json_or_none(row.get("response_headers")),
            "body": row.get("response_body"),
            "truncated": bool(row.get("response_truncated")),
        },
    }


def json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def webhook_item(row: Mapping[str, Any], attempts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "message_uuid": row["message_uuid"],
        "kind": row["kind"],
        "position": row["position"],
        "status": row["status"],
        "state": row["state"],
        "due_at": when(row["due_at"]),
        "occurred_at": when(row["occurred_at"]),
        "delivered_at": when(row["delivered_at"]),
        "url": row["url"],
        "payload": json.loads(row["payload"]) if row["payload"] else None,
        "problem": row["problem"],
        "attempts": [attempt_item(a) for a in attempts],
    }


class Inspector:
    """Reads the journal for the admin API, and waits on it."""

    def __init__(self, store: Store, timeline: Timeline) -> None:
        self.store = store
        self.timeline = timeline

    def messages(self, query: Query) -> dict[str, Any]:
        rows = self.store.find_messages(query)
        return page([message_summary(r) for r in rows], rows, query, "seq")

    def webhooks(self, query: Query) -> dict[str, Any]:
        rows = self.store.find_events(query)
        return page(self.webhook_items(rows), rows, query, "id")

    def webhook_items(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        attempts = self.store.attempts_for_events([r["id"] for r in rows])
        return [webhook_item(r, attempts[r["id"]]) for r in rows]

    def webhook(self, event_id: int) -> dict[str, Any] | None:
        """One webhook (event) with its attempts, or None."""
        row = self.store.get_event(event_id)
        return None if row is None else self.webhook_items([row])[0]

    def message(self, message_uuid: str) -> dict[str, Any] | None:
        row = self.store.get_message(message_uuid)
        if row is None:
            return None
        detail = message_summary(row)
        detail["request"] = row["request"]
        detail["response"] = {"status": row["response_status"], "body": row["response_body"]}
        detail["trace_id"] = row["trace_id"]
        detail["events"] = self.webhook_items(self.store.events_for(message_uuid))
        return detail

    def wait(self, kind: str, query: Query, timeout: float) -> tuple[dict | None, list[dict]]:
        """The first item matching ``query`` within ``timeout`` s, else (None, what arrived)."""
        if kind == "webhook" and "state" not in query.equals:
            query = replace(query, equals={**query.equals, "state": SETTLED})
        find = self.store.find_messages if kind == "message" else self.store.find_events

        def first() -> dict[str, Any] | None:
            rows = find(replace(query, limit=1))
            return self.item(kind, rows[0]) if rows else None

        matched = self.poll(first, timeout)
        return (matched, []) if matched is not None else (None, self.arrived(kind, query))

    def poll(self, check: Callable[[], Any], timeout: float) -> Any:
        """``check()`` until it gives something, moving a manual clock; None after ``timeout``."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        while True:
            seen = self.store.version
            found = check()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.timeline.to_next_due(remaining):
                self.store.wait_for_change(seen, remaining)

    def workflow(self, workflow_id: str) -> dict[str, Any] | None:
        """A failover workflow as one unit: its messages in order, and which one ended it.

        It has ended once none of its messages has an event still to occur: the last one
        sent ended it (``ended_by``), in the status it ended in (``status``).
        """
        rows = self.store.find_messages(Query({"workflow_id": (workflow_id,)}, limit=500))
        if not rows:
            return None
        rows = sorted(rows, key=lambda r: r["workflow_position"])
        pending = any(
            e["state"] == EventState.SCHEDULED
            for r in rows
            for e in self.store.events_for(r["uuid"])
        )
        last = rows[-1]
        return {
            "workflow_id": workflow_id,
            "messages": [message_summary(r) for r in rows],
            "ended_by": None if pending else last["uuid"],
            "status": None if pending else last["status"],
        }

    def wait_workflow(self, workflow_id: str, timeout: float) -> dict[str, Any] | None:
        """The workflow once it has ended (None if it has not within ``timeout`` s)."""

        def ended() -> dict[str, Any] | None:
            found = self.workflow(workflow_id)
            return found if found is not None and found["ended_by"] else None

        return self.poll(ended, timeout)

    def item(self, kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
        return message_summary(row) if kind == "message" else self.webhook_items([row])[0]

    def arrived(self, kind: str, query: Query) -> list[dict[str, Any]]:
        """What did arrive: that message's webhooks, else the latest items in the same scope."""
        keep = (
            ("message_uuid",)
            if "message_uuid" in query.equals
            else ("api_key", "application_id", SCOPE_FILTER)
        )
        loose = Query({k: v for k, v in query.equals.items() if k in keep}, limit=ARRIVED_SHOWN)
        if kind == "message":
            return [message_summary(r) for r in self.store.find_messages(loose)]
        return self.webhook_items(self.store.find_events(loose))


def page(items: list[dict[str, Any]], rows: Sequence[Mapping[str, Any]], query: Query, key: str):
    """One page, newest first; ``next_before`` is the cursor of the next page (or None)."""
    full = len(rows) == query.limit
    return {"items": items, "next_before": rows[-1][key] if full and rows else None}
