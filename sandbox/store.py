"""The journal: SQLite tables of messages, their events and every webhook delivery attempt.

In memory by default (one connection shared by all threads behind a lock), or a file
with ``--db`` (WAL, so a SIGKILL loses nothing that was committed). Rows come back as
plain dicts; this module knows nothing of HTTP or of what the rows mean.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .jsontext import compact_json
from .message import Message
from .migrations import migrate
from .states import OPEN_STATES, EventState

MESSAGE_COLUMNS = (
    "uuid",
    "direction",
    "received_at",
    "api_key",
    "application_id",
    "channel",
    "to_addr",
    "from_addr",
    "client_ref",
    "request",
    "response_status",
    "response_body",
    "scenario",
    "rule",
    "status",
    "trace_id",
    "api_version",
    "workflow_id",
    "workflow_position",
    "sandbox_at",
)


JSON_COLUMNS = (MESSAGE_COLUMNS.index("request"), MESSAGE_COLUMNS.index("response_body"))
INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
)
# A scenario's reply that a seeded run journaled before a restart is listed once.
INSERT_REPLY = INSERT_MESSAGE.replace("INSERT", "INSERT OR IGNORE", 1)
INSERT_EVENT = (
    "INSERT INTO events (message_uuid, position, kind, status, step, due_at, state, "
    "api_key, application_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_OCCURRED = (
    "UPDATE events SET occurred_at = ?, payload = ?, url = ?, state = ?, problem = ? WHERE id = ?"
)
ATTEMPT_DETAILS = (
    "request_headers",
    "response_headers",
    "response_body",
    "response_truncated",
    "manual",
)
INSERT_ATTEMPT = (
    "INSERT INTO attempts (event_id, url, at, status_code, latency_ms, error, "
    f"{', '.join(ATTEMPT_DETAILS)}) VALUES ({', '.join('?' * (6 + len(ATTEMPT_DETAILS)))})"
)
# The in-memory journal is trimmed after retention/10 new messages (at least 100), by the
# dispatcher's thread between batches, never on the accept path. A trim looks at every
# message below the cutoff once, open ones too: less often keeps that cheap when the
# messages still open outnumber the retention (sends/s × a message's life > the limit).
TRIM_EVERY = 100
# The messages a trim drops, chosen by one scan and then deleted table by table.
TRIMMED = "CREATE TEMP TABLE IF NOT EXISTS trimmed (seq INTEGER PRIMARY KEY, uuid TEXT NOT NULL)"

# ?scope=NAME: the messages of one credential, sent with it as api key or application id.
SCOPE_FILTER = "scope"
OPEN_MARKS = ", ".join("?" * len(OPEN_STATES))
MESSAGE_COLUMNS_BY_FILTER = {
    "message_uuid": "m.uuid",
    "direction": "m.direction",
    "to": "m.to_addr",
    "from": "m.from_addr",
    "channel": "m.channel",
    "status": "m.status",
    "client_ref": "m.client_ref",
    "api_key": "m.api_key",
    "application_id": "m.application_id",
    "scenario": "m.scenario",
    "rule": "m.rule",
    "api_version": "m.api_version",
    "workflow_id": "m.workflow_id",
}
EVENT_COLUMNS_BY_FILTER = {
    **MESSAGE_COLUMNS_BY_FILTER,
    "message_uuid": "e.message_uuid",
    "status": "e.status",
    "kind": "e.kind",
    "state": "e.state",
    "api_key": "e.api_key",
    "application_id": "e.application_id",
}


@dataclass(frozen=True)
class Query:
    """Filters (each a set of accepted values), a time range, a page size and a cursor."""

    equals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    since: float | None = None
    until: float | None = None
    limit: int = 50
    before: int | None = None

    def where(
        self, columns: Mapping[str, str], time_column: str, order_column: str
    ) -> tuple[str, list[Any]]:
        clauses, params = ["1"], []
        for name, values in self.equals.items():
            marks = ", ".join("?" * len(values))
            if name == SCOPE_FILTER:
                key, app = columns["api_key"], columns["application_id"]
                clauses.append(f"({key} IN ({marks}) OR {app} IN ({marks}))")
                params.extend([*values, *values])
            else:
                clauses.append(f"{columns[name]} IN ({marks})")
                params.extend(values)
        for bound, op in ((self.since, ">="), (self.until, "<=")):
            if bound is not None:
                clauses.append(f"{time_column} {op} ?")
                params.append(bound)
        if self.before is not None:
            clauses.append(f"{order_column} < ?")
            params.append(self.before)
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class Scope:
    """Restricts reads and resets to one api key and/or application id (None = everything)."""

    api_key: str | None = None
    application_id: str | None = None

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        prefix = f"{alias}." if alias else ""
        clauses, params = [], []
        for column in ("api_key", "application_id"):
            if getattr(self, column) is not None:
                clauses.append(f"{prefix}{column} = ?")
                params.append(getattr(self, column))
        return " AND ".join(clauses) or "1", params


def outbound_row(
    message: Message,
    message_uuid: str,
    api_key: str | None,
    application_id: str | None,
    response: tuple[int, dict[str, Any]],
    trace_id: str,
    choice: tuple[str | None, str | None] = (None, None),
    workflow: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """The journal row of an outbound message (accepted, or answered by a scenario);
    ``workflow`` is (workflow id, 1-based place) for a message of a failover workflow."""
    status, body = response
    return {
        "uuid": message_uuid,
        "direction": "outbound",
        "received_at": time.time(),
        "api_key": api_key,
        "application_id": application_id,
        "channel": message.channel or None,
        "to_addr": message.to or None,
        "from_addr": message.sender or None,
        "client_ref": message.client_ref,
        "request": message.request,
        "response_status": status,
        "response_body": body,
        "scenario": choice[0],
        "rule": choice[1],
        "trace_id": trace_id,
        "api_version": message.api_version,
        "workflow_id": workflow[0] if workflow else None,
        "workflow_position": workflow[1] if workflow else None,
    }


def inbound_row(
    message_uuid: str,
    channel: str,
    customer: str,
    business: str,
    content: Any,
    api_key: str | None,
    application_id: str | None,
    api_version: str | None = None,
) -> dict[str, Any]:
    """The journal row of an inbound message (its 'request' is what the customer sent;
    ``api_version`` the version its webhook is rendered in)."""
    return {
        "uuid": message_uuid,
        "direction": "inbound",
        "received_at": time.time(),
        "api_key": api_key,
        "application_id": application_id,
        "channel": channel,
        "to_addr": business,
        "from_addr": customer,
        "request": {"channel": channel, "from": customer, "to": business, "content": content},
        "api_version": api_version,
    }


class Store:
    """Thread-safe access to the journal."""

    def __init__(
        self, path: str | None = None, retention: int | None = None, connect: bool = True
    ) -> None:
        self.path = path or ":memory:"
        # An in-memory journal is bounded (oldest messages go); a file journal keeps all.
        self.retention = retention if path is None else None
        self.lock = threading.RLock()
        self.added_since_trim = 0
        self.trim_every = max(TRIM_EVERY, (retention or 0) // 10)
        # Called (outside the lock) after an insert once a trim is due: whoever trims
        # (the dispatcher's worker) wakes up, whichever path journaled the message.
        self.on_trim_due: Callable[[], None] | None = None
        self._closed = False
        self.changed = threading.Condition()
        self.version = 0
        if connect:
            self.open()

    def open(self) -> None:
        """Connect and create the schema (``connect=False`` leaves it to the owner's start)."""
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        migrate(self.db, self.path)
        self.db.execute(TRIMMED)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                # A failed COMMIT too: otherwise the connection stays inside a transaction
                # and every later BEGIN fails.
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the journal changes after version ``seen`` (or timeout); the version."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.db.execute(sql, params)]

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self.db.close()

    # messages ----------------------------------------------------------------------

    def add_message(
        self, message: Mapping[str, Any], events: Iterable[Mapping[str, Any]] = ()
    ) -> list[int]:
        """Journal one message and its planned events in one transaction; the event ids."""
        row = message_values(message)
        uuid, api_key, application_id = row[0], row[3], row[4]  # MESSAGE_COLUMNS order
        with self.transaction() as db:
            db.execute(INSERT_MESSAGE, row)
            ids = [
                db.execute(
                    INSERT_EVENT,
                    (
                        uuid,
                        event["position"],
                        event["kind"],
                        event["step"].get("status"),
                        compact_json(event["step"]),
                        event["due_at"],
                        EventState.SCHEDULED,
                        api_key,
                        application_id,
                    ),
                ).lastrowid
                for event in events
            ]
            self.added_since_trim += 1
        if self.on_trim_due is not None and self.trim_due:
            self.on_trim_due()
        return ids

    def get_message(self, uuid: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM messages WHERE uuid = ?", (uuid,))
        return decode_message(rows[0]) if rows else None

    def set_status(self, uuid: str, status: str) -> bool:
        """A client updated a message (v1 PATCH: read, revoked); False if there is none."""
        with self.transaction() as db:
            updated = db.execute("UPDATE messages SET status = ? WHERE uuid = ?", (status, uuid))
        return bool(updated.rowcount)

    def drop_scheduled(self, uuid: str) -> int:
        """Events of a message that have not occurred yet are dropped (a revoked message)."""
        with self.transaction() as db:
            dropped = db.execute(
                "DELETE FROM events WHERE message_uuid = ? AND state = ?",
                (uuid, EventState.SCHEDULED),
            )
        return dropped.rowcount

    def count_messages(self, scope: Scope = Scope()) -> int:
        where, params = scope.where()
        return self.query(f"SELECT COUNT(*) AS n FROM messages WHERE {where}", params)[0]["n"]

    @property
    def trim_due(self) -> bool:
        """Has the in-memory journal taken ``trim_every`` messages since its last trim?"""
        return self.retention is not None and self.added_since_trim >= self.trim_every

    def trim(self) -> int:
        """Forget the oldest settled messages beyond the retention; how many went.

        Messages with events still to occur or to deliver stay (nothing accepted is lost):
        the journal holds the retention plus those. Cheap: the cutoff is one step along
        the primary key, and only rows below it are looked at, once, each through an index.
        """
        if self.retention is None:
            return 0
        with self.transaction() as db:
            self.added_since_trim = 0
            cutoff = db.execute(
                "SELECT seq FROM messages ORDER BY seq DESC LIMIT 1 OFFSET ?", (self.retention,)
            ).fetchone()
            if cutoff is None:
                return 0
            db.execute(
                "INSERT INTO temp.trimmed (seq, uuid) SELECT seq, uuid FROM messages m "
                "WHERE seq <= ? AND NOT EXISTS (SELECT 1 FROM events e WHERE "
                f"e.message_uuid = m.uuid AND e.state IN ({OPEN_MARKS}))",
                (cutoff[0], *OPEN_STATES),
            )
            chosen = "SELECT uuid FROM temp.trimmed"
            db.execute(
                "DELETE FROM attempts WHERE event_id IN "
                f"(SELECT id FROM events WHERE message_uuid IN ({chosen}))"
            )
            db.execute(f"DELETE FROM events WHERE message_uuid IN ({chosen})")
            db.execute("DELETE FROM messages WHERE seq IN (SELECT seq FROM temp.trimmed)")
            return db.execute("DELETE FROM temp.trimmed").rowcount

    # events and delivery attempts ---------------------------------------------------

    def occurred(
        self,
        event_id: int,
        message_uuid: str,
        when: float,
        payload: str,
        url: str | None,
        state: str,
        status: str | None,
    ) -> bool:
        """An event happened: its payload and destination are fixed; the message's status moves.

        False if the event is gone (its message was reset meanwhile): then nothing changed.
        """
        change = Occurrence(event_id, message_uuid, when, payload, url, state, status)
        return bool(self.occurred_batch([change]))

    def occurred_batch(self, changes: Sequence[Occurrence]) -> set[int]:
        """Many events happened, in one transaction; the ids of those still journaled.

        An event whose message was reset meanwhile changes nothing (nor lists its reply).
        """
        kept = set()
        with self.transaction() as db:
            for c in changes:
                values = (c.when, c.payload, c.url, c.state, c.problem, c.event_id)
                if not db.execute(UPDATE_OCCURRED, values).rowcount:
                    continue
                kept.add(c.event_id)
                if c.status:
                    db.execute(
                        "UPDATE messages SET status = ? WHERE uuid = ?", (c.status, c.message_uuid)
                    )
                if c.reply is not None:
                    self.added_since_trim += db.execute(
                        INSERT_REPLY, message_values(c.reply)
                    ).rowcount
        return kept

    def invalid(self, event_id: int, when: float, payload: str, problem: str) -> None:
        """A payload that failed the spec's schema: a sandbox bug, journaled, never sent."""
        with self.transaction() as db:
            db.execute(
                "UPDATE events SET occurred_at = ?, payload = ?, problem = ?, state = ? "
                "WHERE id = ?",
                (when, payload, problem, EventState.INVALID, event_id),
            )

    def attempted(
        self,
        event_id: int,
        url: str,
        at: float,
        status_code: int | None,
        latency_ms: float,
        error: str | None,
        state: str | None,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """One delivery attempt and the event's state after it (None: unchanged), with its
        ``ATTEMPT_DETAILS`` (headers, response body…); False if the event is gone."""
        with self.transaction() as db:
            updated = db.execute(
                "UPDATE events SET attempts = attempts + 1, state = COALESCE(?, state), "
                "first_attempt_at = COALESCE(first_attempt_at, ?), "
                "delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END "
                "WHERE id = ?",
                (state, at, state == EventState.DELIVERED, at, event_id),
            ).rowcount
            if updated:
                db.execute(
                    INSERT_ATTEMPT,
                    attempt_values(
                        event_id, url, at, status_code, latency_ms, error, details or {}
                    ),
                )
        return bool(updated)

    def get_event(self, event_id: int) -> dict[str, Any] | None:
        """One event with what its delivery needs of its message (as ``open_events``)."""
        rows = self.query(
            "SELECT e.*, m.request, m.channel, m.direction, m.api_version FROM events e "
            "JOIN messages m ON m.uuid = e.message_uuid WHERE e.id = ?",
            (event_id,),
        )
        return rows[0] if rows else None

    def open_events(self) -> list[dict[str, Any]]:
        """Events not yet delivered nor given up, with their message, in due order."""
        rows = self.query(
            "SELECT e.*, m.request, m.channel, m.direction, m.api_version FROM events e "
            "JOIN messages m ON m.uuid = e.message_uuid "
            f"WHERE e.state IN ({OPEN_MARKS}) ORDER BY e.due_at, e.position",
            OPEN_STATES,
        )
        for row in rows:
            row["request"] = json.loads(row["request"]) if row["request"] else {}
            row["step"] = json.loads(row["step"])
        return rows

    def events_for(self, message_uuid: str) -> list[dict[str, Any]]:
        return self.query(
            "SELECT * FROM events WHERE message_uuid = ? ORDER BY position", (message_uuid,)
        )

    def attempts_for(self, event_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM attempts WHERE event_id = ? ORDER BY id", (event_id,))

    def count_events(self, state: str) -> int:
        return self.query("SELECT COUNT(*) AS n FROM events WHERE state = ?", (state,))[0]["n"]

    # inspection ------------------------------------------------------------------------

    def find_messages(self, query: Query) -> list[dict[str, Any]]:
        """Messages matching ``query``, newest first."""
        where, params = query.where(MESSAGE_COLUMNS_BY_FILTER, "m.received_at", "m.seq")
        rows = self.query(
            f"SELECT m.* FROM messages m WHERE {where} ORDER BY m.seq DESC LIMIT ?",
            [*params, query.limit],
        )
        return [decode_message(row) for row in rows]

    def find_events(self, query: Query) -> list[dict[str, Any]]:
        """Events (webhooks) matching ``query``, with their message's addresses, newest first."""
        where, params = query.where(EVENT_COLUMNS_BY_FILTER, "e.occurred_at", "e.id")
        return self.query(
            "SELECT e.*, m.channel, m.to_addr, m.from_addr, m.client_ref FROM events e "
            f"JOIN messages m ON m.uuid = e.message_uuid WHERE {where} "
            "ORDER BY e.id DESC LIMIT ?",
            [*params, query.limit],
        )

    def attempts_for_events(self, event_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        by_event: dict[int, list[dict[str, Any]]] = {i: [] for i in event_ids}
        if event_ids:
            marks = ", ".join("?" * len(event_ids))
            for row in self.query(
                f"SELECT * FROM attempts WHERE event_id IN ({marks}) ORDER BY id", list(event_ids)
            ):
                by_event[row["event_id"]].append(row)
        return by_event

    def delete(self, scope: Scope) -> list[str]:
        """Forget every message in ``scope`` (and its events and attempts); their uuids."""
        where, params = scope.where()
        with self.transaction() as db:
            return delete_messages(db, where, params)


@dataclass(frozen=True)
class Occurrence:
    """What one event became when it occurred: the journal's side of ``Lifecycle.occur``."""

    event_id: int
    message_uuid: str
    when: float
    payload: str
    url: str | None
    state: str
    status: str | None = None  # the message's new status, if it moves
    problem: str | None = None  # why the payload is invalid
    reply: Mapping[str, Any] | None = None  # a scenario's reply, journaled as a message


def attempt_values(
    event_id: int,
    url: str,
    at: float,
    status_code: int | None,
    latency_ms: float,
    error: str | None,
    details: Mapping[str, Any],
) -> list[Any]:
    """An attempt row's values in ``INSERT_ATTEMPT`` order, header maps as JSON text."""
    extra = [details.get(c) for c in ATTEMPT_DETAILS]
    for index in (0, 1):
        if extra[index] is not None:
            extra[index] = compact_json(extra[index])
    return [event_id, url, at, status_code, latency_ms, error, *extra]


def message_values(message: Mapping[str, Any]) -> list[Any]:
    """A message row's values in ``MESSAGE_COLUMNS`` order, JSON columns as text."""
    values = [message.get(c) for c in MESSAGE_COLUMNS]
    for index in JSON_COLUMNS:
        if values[index] is not None and not isinstance(values[index], str):
            values[index] = compact_json(values[index])
    return values


def delete_messages(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[str]:
    """Delete the messages matching ``where`` with their events and attempts; their uuids."""
    uuids = [r[0] for r in db.execute(f"SELECT uuid FROM messages WHERE {where}", params)]
    chosen = f"SELECT uuid FROM messages WHERE {where}"
    db.execute(
        f"DELETE FROM attempts WHERE event_id IN "
        f"(SELECT id FROM events WHERE message_uuid IN ({chosen}))",
        params,
    )
    db.execute(f"DELETE FROM events WHERE message_uuid IN ({chosen})", params)
    db.execute(f"DELETE FROM messages WHERE {where}", params)
    return uuids


def decode_message(row: dict[str, Any]) -> dict[str, Any]:
    """A messages row with its JSON columns parsed."""
    for key in ("request", "response_body"):
        if row.get(key):
            row[key] = json.loads(row[key])
    return row


# read-only queries for the UI's read model (sandbox/conversations.py, sandbox/feed.py) ---

CONVERSATION_KEY = (
    "m.channel AS channel, "
    "CASE m.direction WHEN 'inbound' THEN m.to_addr ELSE m.from_addr END AS business, "
    "CASE m.direction WHEN 'inbound' THEN m.from_addr ELSE m.to_addr END AS customer"
)


def find_conversations(store: Store, query: Query, search: str | None) -> list[dict[str, Any]]:
    """Messages matching ``query`` (and ``search`` in addresses or request text), grouped by
    (channel, business, customer); newest activity first, ``query.limit`` groups."""
    where, params = query.where(MESSAGE_COLUMNS_BY_FILTER, "m.received_at", "m.seq")
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where += " AND (m.to_addr LIKE ? ESCAPE '\\' OR m.from_addr LIKE ? ESCAPE '\\' "
        where += "OR m.request LIKE ? ESCAPE '\\')"
        params += [pattern] * 3
    return store.query(
        f"SELECT {CONVERSATION_KEY}, COUNT(*) AS messages, "
        "SUM(m.direction = 'outbound') AS outbound, SUM(m.direction = 'inbound') AS inbound, "
        f"MAX(m.seq) AS last_seq FROM messages m WHERE {where} "
        "GROUP BY 1, 2, 3 ORDER BY last_seq DESC LIMIT ?",
        [*params, query.limit],
    )


def messages_by_seq(store: Store, seqs: Sequence[int]) -> list[dict[str, Any]]:
    marks = ", ".join("?" * len(seqs)) or "NULL"
    rows = store.query(f"SELECT * FROM messages WHERE seq IN ({marks})", list(seqs))
    return [decode_message(r) for r in rows]


def conversation_messages(
    store: Store, channel: str, business: str, customer: str, limit: int
) -> list[dict[str, Any]]:
    """The newest ``limit`` messages between a business and a customer, oldest first."""
    rows = store.query(
        "SELECT * FROM messages WHERE channel = ? AND ("
        "(direction = 'outbound' AND from_addr = ? AND to_addr = ?) OR "
        "(direction = 'inbound' AND to_addr = ? AND from_addr = ?)) "
        "ORDER BY seq DESC LIMIT ?",
        (channel, business, customer, business, customer, limit),
    )
    return [decode_message(r) for r in reversed(rows)]


def events_of_messages(store: Store, uuids: Sequence[str]) -> list[dict[str, Any]]:
    marks = ", ".join("?" * len(uuids)) or "NULL"
    return store.query(
        f"SELECT * FROM events WHERE message_uuid IN ({marks}) ORDER BY message_uuid, position",
        list(uuids),
    )


def messages_after(store: Store, seq: int, limit: int) -> list[dict[str, Any]]:
    return store.query(
        "SELECT seq, uuid, direction, channel, status FROM messages WHERE seq > ? "
        "ORDER BY seq LIMIT ?",
        (seq, limit),
    )


OCCURRED_US = "CAST(ROUND(occurred_at * 1000000) AS INTEGER)"  # rounded here, and only here


def occurrences_after(store: Store, at_us: int, event_id: int, limit: int) -> list[dict[str, Any]]:
    """Events that occurred after (``at_us`` microseconds, ``event_id``), in that order."""
    us = OCCURRED_US
    return store.query(
        f"SELECT id, message_uuid, kind, status, state, occurred_at, {us} AS occurred_us "
        f"FROM events WHERE occurred_at IS NOT NULL AND ({us} > ? OR ({us} = ? AND id > ?)) "
        f"ORDER BY {us}, id LIMIT ?",
        (at_us, at_us, event_id, limit),
    )


def attempts_after(store: Store, attempt_id: int, limit: int) -> list[dict[str, Any]]:
    return store.query(
        "SELECT a.id, a.event_id, a.status_code, a.error, e.message_uuid, e.state "
        "FROM attempts a JOIN events e ON e.id = a.event_id WHERE a.id > ? "
        "ORDER BY a.id LIMIT ?",
        (attempt_id, limit),
    )


def feed_head(store: Store) -> dict[str, Any]:
    """The newest message seq, attempt id and event occurrence: where a change feed stands."""
    last = (
        f"SELECT {OCCURRED_US} AS occurred_us, id FROM events WHERE occurred_at IS NOT NULL "
        f"ORDER BY {OCCURRED_US} DESC, id DESC LIMIT 1"
    )
    return store.query(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM messages) AS seq, "
        "(SELECT COALESCE(MAX(id), 0) FROM attempts) AS attempt, "
        f"(SELECT occurred_us FROM ({last})) AS occurred_us, (SELECT id FROM ({last})) AS event"
    )[0]
