"""The UI's read model: conversations (messages grouped across both directions) and their
threads as chat bubbles with content, status ticks and errors. No Flask here.

A conversation is (channel, business number or id, customer). A thread holds the journal's
messages between the two in journal order; a reply a scenario scripted is journaled as an
inbound message when it occurs, so it takes its place in that order like any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import store as journal
from .events import timestamp
from .store import Query, Store

THREAD_LIMIT = 200
TICKS = {
    "submitted": "✓",
    "delivered": "✓✓",
    "read": "✓✓",
    "rejected": "✗",
    "undeliverable": "✗",
}
CUSTOM_SHOWN = 120


@dataclass(frozen=True)
class Conversation:
    channel: str
    business: str
    customer: str


def conversations(store: Store, query: Query, search: str | None = None) -> list[dict[str, Any]]:
    """One row per conversation matching the filters, newest activity first."""
    groups = journal.find_conversations(store, query, search)
    lasts = journal.messages_by_seq(store, [g["last_seq"] for g in groups])
    events = events_by_message(store, [m["uuid"] for m in lasts])
    drawn = {m["seq"]: bubble(m, events.get(m["uuid"], [])) for m in lasts}
    return [{**group, "last": drawn[group["last_seq"]]} for group in groups]


def events_by_message(store: Store, uuids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for event in journal.events_of_messages(store, list(uuids)):
        found.setdefault(event["message_uuid"], []).append(event)
    return found


def thread(store: Store, conversation: Conversation) -> list[dict[str, Any]]:
    """The conversation's bubbles in journal order."""
    rows = journal.conversation_messages(
        store, conversation.channel, conversation.business, conversation.customer, THREAD_LIMIT
    )
    events = events_by_message(store, [r["uuid"] for r in rows])
    bubbles = [bubble(row, events.get(row["uuid"], [])) for row in rows]
    return sorted(bubbles, key=lambda b: b["sort"])


def bubble(row: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One message as the UI draws it."""
    status = row["status"]
    error = message_error(row, events)
    return {
        "message_uuid": row["uuid"],
        "direction": row["direction"],
        "at": timestamp(row.get("sandbox_at") or row["received_at"]),  # the sandbox's time
        "sort": row["seq"],
        "channel": row["channel"],
        "api_key": row["api_key"],
        "application_id": row["application_id"],
        "content": describe(message_content(row, events)),
        "status": status,
        "ticks": "✗" if error and not status else TICKS.get(status or "", ""),
        "error": error,
    }


def message_content(row: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict:
    """What was sent (the request), or for an injected inbound message what was delivered."""
    request = row["request"] or {}
    if row["direction"] == "inbound":
        delivered = [e for e in events if e["kind"] == "inbound" and e["payload"]]
        if delivered:
            return payload_content(json.loads(delivered[0]["payload"]))
        return request.get("content") or {"type": "text", "text": None}
    if "message_type" in request:  # v1: the content is the request itself
        return {"type": request["message_type"], **request}
    return (request.get("message") or {}).get("content") or {}


def payload_content(payload: Mapping[str, Any]) -> dict:
    if "message_type" in payload:
        return {"type": payload["message_type"], **payload}
    return (payload.get("message") or {}).get("content") or {}


def describe(content: Mapping[str, Any]) -> dict[str, Any]:
    """{type, text, url, caption, template, parameters, location, summary} for a template."""
    kind = str(content.get("type") or "unknown")
    part = content.get(kind) if isinstance(content.get(kind), dict) else {}
    described: dict[str, Any] = {"type": kind, "text": content.get("text")}
    if kind in ("image", "audio", "video", "file", "vcard", "sticker"):
        described["url"] = part.get("url")
        described["caption"] = part.get("caption") or part.get("name")
    elif kind == "template":
        described["template"] = part.get("name")
        described["parameters"] = [parameter_text(p) for p in part.get("parameters") or []]
    elif kind == "location":
        described["location"] = location_text(part)
    elif kind != "text":
        described["summary"] = json.dumps(part or dict(content), ensure_ascii=False)[:CUSTOM_SHOWN]
    return described


def parameter_text(parameter: Any) -> str:
    if isinstance(parameter, dict):
        return str(parameter.get("default", next(iter(parameter.values()), "")))
    return str(parameter)


def location_text(part: Mapping[str, Any]) -> str:
    lat = part.get("lat", part.get("latitude", "?"))
    where = f"{lat}, {part.get('long', part.get('longitude', '?'))}"
    name = ", ".join(str(part[k]) for k in ("name", "address") if part.get(k))
    return f"{name} ({where})" if name else where


def message_error(row: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict | None:
    """{code, title}: the latest status webhook's error, or the API's refusal."""
    if (row["response_status"] or 0) >= 400:
        body = row["response_body"] or {}
        return {"code": row["response_status"], "title": body.get("title") or "Refused"}
    for event in reversed(events):
        if event["kind"] == "status" and event["payload"]:
            error = json.loads(event["payload"]).get("error")
            if isinstance(error, dict):
                return {
                    "code": error.get("code"),
                    "title": error.get("reason") or error.get("title"),
                }
    return None
