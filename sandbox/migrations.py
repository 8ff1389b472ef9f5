"""The journal's schema as ordered steps: version N is what the first N steps build.

SQLite's ``PRAGMA user_version`` records the version of a file. Opening one runs the steps
it has not had, each in one transaction with its version bump, so a crash leaves a file at
a version, never between two. A file from a newer sandbox is refused: this one cannot know
what the newer columns mean. Files written before versioning (user_version 0) hold exactly
version 1's tables and are recognised as version 1. To change the schema, append a step;
never edit a released one.
"""

from __future__ import annotations

import sqlite3

# Version 1: the schema shipped unversioned up to 0094e82 (CREATE ... IF NOT EXISTS).
V1 = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    received_at REAL NOT NULL,
    api_key TEXT,
    application_id TEXT,
    channel TEXT,
    to_addr TEXT,
    from_addr TEXT,
    client_ref TEXT,
    request TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    scenario TEXT,
    rule TEXT,
    status TEXT,
    trace_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_scope ON messages (api_key, application_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_uuid TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    step TEXT NOT NULL,
    due_at REAL NOT NULL,
    url TEXT,
    state TEXT NOT NULL,
    occurred_at REAL,
    payload TEXT,
    problem TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at REAL,
    delivered_at REAL,
    api_key TEXT,
    application_id TEXT,
    UNIQUE (message_uuid, position)
);
-- UNIQUE (message_uuid, position) serves lookups by message; state is only scanned at start.
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    at REAL NOT NULL,
    status_code INTEGER,
    latency_ms REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS attempts_event ON attempts (event_id);
"""

# Version 2: what the hot queries filter on. The dispatcher's restart scan, the state
# counts and the waits for settled webhooks look events up by state (in due order); the
# trim finds a message's open events through UNIQUE (message_uuid, position).
V2 = """
CREATE INDEX IF NOT EXISTS events_state ON events (state, due_at);
"""

# Version 3: which API version received each message (NULL: journaled before, so v0.1), and
# the failover workflow an outbound v1 message belongs to, with its place in it (1-based).
API_VERSION = """
ALTER TABLE messages ADD COLUMN api_version TEXT;
ALTER TABLE messages ADD COLUMN workflow_id TEXT;
ALTER TABLE messages ADD COLUMN workflow_position INTEGER;
CREATE INDEX IF NOT EXISTS messages_workflow ON messages (workflow_id);
"""

# Version 4: every attempt in full: the request headers as sent (JSON object, the signed
# Authorization header included), the receiver's response headers (JSON object) and the
# first RESPONSE_KEPT bytes of its body (transport.py), and whether the body was longer.
# ``manual`` says who asked for it: NULL (the schedule), 'retry' or 'resend' (the admin API).
# And each message's time on the sandbox's clock (received_at is the wall clock's): on a
# manual or scaled clock the two differ, and webhook timestamps are on the sandbox's.
ATTEMPT_DETAILS = """
ALTER TABLE messages ADD COLUMN sandbox_at REAL;
ALTER TABLE attempts ADD COLUMN request_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_body TEXT;
ALTER TABLE attempts ADD COLUMN response_truncated INTEGER;
ALTER TABLE attempts ADD COLUMN manual TEXT;
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, API_VERSION, ATTEMPT_DETAILS)
LATEST = len(MIGRATIONS)
TABLES = ("messages", "events", "attempts")


class SchemaError(Exception):
    """A journal file this sandbox cannot use; the message says why and what to do."""


def migrate(db: sqlite3.Connection, path: str) -> int:
    """Bring ``db`` to the latest version; the version it was at when opened."""
    found = schema_version(db)
    if found > LATEST:
        raise SchemaError(
            f"{path}: this journal has schema version {found}, written by a newer Messages "
            f"Sandbox; this one reads versions up to {LATEST}. Serve it with that newer "
            "version, or give another --db file."
        )
    if found == 0 and table_names(db):
        check_unversioned(db, path)  # then step 1 (IF NOT EXISTS) only stamps it
    for number in range(found + 1, LATEST + 1):
        apply(db, number, MIGRATIONS[number - 1])
    return found


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def table_names(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows if not name.startswith("sqlite_")}


def check_unversioned(db: sqlite3.Connection, path: str) -> None:
    """An unversioned file must hold version 1's tables, column for column; else refuse it."""
    reference = sqlite3.connect(":memory:")
    try:
        reference.executescript(V1)
        expected = {table: columns(reference, table) for table in TABLES}
    finally:
        reference.close()
    if {table: columns(db, table) for table in TABLES} != expected:
        raise SchemaError(
            f"{path}: not a Messages Sandbox journal (its tables are "
            f"{', '.join(sorted(table_names(db)))}); give another --db file."
        )


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def apply(db: sqlite3.Connection, number: int, step: str) -> None:
    """One step and its version stamp, atomically (SQLite DDL is transactional)."""
    try:
        db.executescript(f"BEGIN;\n{step}\nPRAGMA user_version = {number};\nCOMMIT;")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
