"""With --db nothing accepted is lost: undelivered events go out after a restart, even SIGKILL."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests

from sandbox.migrations import LATEST, MIGRATIONS, SchemaError
from sandbox.store import Store

from .conftest import BASIC
from .processes import serve_command
from .receiver import Receiver
from .samples import VALID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_restart_delivers_what_was_pending(start_sandbox, tmp_path):
    db, port = str(tmp_path / "journal.db"), free_port()
    url = f"http://127.0.0.1:{port}/status"
    first = start_sandbox(db=db, clock="manual", status_url=url)
    sent = [first.send(VALID["whatsapp-text"]).json()["message_uuid"] for _ in range(3)]
    first.sandbox.advance(2)  # submitted occurred; its delivery was refused
    first.server.stop()

    receiver = Receiver(port)
    try:
        second = start_sandbox(db=db, clock="manual", status_url=url)
        receiver.wait_for(3, "/status")  # the pending 'submitted' ones go out at once
        second.sandbox.advance(60)  # the rest of the lifecycle, at its time
        for message_uuid in sent:
            got = [
                r.json["status"]
                for r in receiver.on("/status")
                if r.json["message_uuid"] == message_uuid
            ]
            assert got == ["submitted", "delivered", "read"]
    finally:
        receiver.stop()


def test_sigkill_loses_nothing_accepted(spawn, tmp_path):
    db, port = str(tmp_path / "journal.db"), free_port()
    flags = ["--db", db, "--speed", "200", "--status-url", f"http://127.0.0.1:{port}/status"]
    process = spawn(serve_command(*flags))
    url = process.wait_until_healthy()
    sent = []
    for name in ("sms-text", "whatsapp-text", "messenger-text", "viber-text") * 5:
        response = requests.post(
            f"{url}/v0.1/messages", json=VALID[name], headers={"Authorization": BASIC}
        )
        sent.append((response.json()["message_uuid"], name))
    assert process.stop(signal.SIGKILL) == -signal.SIGKILL

    receiver = Receiver(port)
    try:
        restarted = spawn(serve_command(*flags))
        restarted.wait_until_healthy()
        expected = {"sms-text": 2, "viber-text": 2, "whatsapp-text": 3, "messenger-text": 3}
        receiver.wait_for(sum(expected[name] for _, name in sent), "/status", timeout=30)
        for message_uuid, name in sent:
            got = [
                r.json["status"]
                for r in receiver.on("/status")
                if r.json["message_uuid"] == message_uuid
            ]
            assert got == ["submitted", "delivered", "read"][: expected[name]], (name, got)
        restarted.stop()
    finally:
        receiver.stop()


def test_overdue_events_queue_behind_pending_ones_after_a_restart(start_sandbox, tmp_path):
    db, port = str(tmp_path / "journal.db"), free_port()
    url = f"http://127.0.0.1:{port}/status"
    # At speed 10000 the whole lifecycle is due within a millisecond of sending.
    first = start_sandbox(db=db, clock="manual", speed=10_000, status_url=url)
    sent = [first.send(VALID["sms-text"]).json()["message_uuid"] for _ in range(20)]
    first.sandbox.advance(0.0001)  # only 'submitted' occurs (refused: pending)
    assert first.sandbox.store.count_events("scheduled") == 20
    first.server.stop()

    receiver = Receiver(port)
    try:
        start_sandbox(db=db, clock="manual", speed=10_000, status_url=url)  # 'delivered' overdue
        receiver.wait_for(40, "/status")
        for message_uuid in sent:
            got = [
                r.json["status"]
                for r in receiver.on("/status")
                if r.json["message_uuid"] == message_uuid
            ]
            assert got == ["submitted", "delivered"]
    finally:
        receiver.stop()


# The journal's schema version (issue 9.6) ---------------------------------------------

# Verbatim from `git show 0094e82:sandbox/store.py`: the last schema before versioning.
UNVERSIONED_DDL = """
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


def write_unversioned_journal(path: Path, now: float) -> None:
    """A journal as the sandbox wrote it before versioning: one SMS, submitted and due."""
    request = json.dumps(VALID["sms-text"], separators=(",", ":"))
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(UNVERSIONED_DDL)
        db.execute(
            "INSERT INTO messages (uuid, direction, received_at, api_key, channel, to_addr,"
            " from_addr, client_ref, request, response_status, response_body, scenario, rule,"
            " trace_id) VALUES (?, 'outbound', ?, 'key1', 'sms', '447700900000', 'Acme',"
            " 'order-42', ?, 202, ?, 'default', 'sms', 'f00d')",
            (OLD_UUID, now - 5, request, json.dumps({"message_uuid": OLD_UUID})),
        )
        for position, status, due in ((0, "submitted", now - 4), (1, "delivered", now + 2)):
            db.execute(
                "INSERT INTO events (message_uuid, position, kind, status, step, due_at, state,"
                " api_key) VALUES (?, ?, 'status', ?, ?, ?, 'scheduled', 'key1')",
                (OLD_UUID, position, status, json.dumps({"status": status}), due),
            )


OLD_UUID = "0b4c2a51-6f1e-4c3b-9d55-2f0a1c9e7d10"


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_a_journal_from_before_versioning_is_read_and_usable(start_sandbox, receiver, tmp_path):
    db = tmp_path / "old.db"
    write_unversioned_journal(db, time.time())
    assert user_version(db) == 0
    client = start_sandbox(db=str(db), clock="manual", status_url=receiver.url + "/status")
    assert user_version(db) == LATEST

    listed = client.get("/_sandbox/messages").json()["items"]
    assert [(m["message_uuid"], m["client_ref"]) for m in listed] == [(OLD_UUID, "order-42")]
    fresh = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(60)
    for message_uuid in (OLD_UUID, fresh):
        got = [
            r.json["status"]
            for r in receiver.on("/status")
            if r.json["message_uuid"] == message_uuid
        ]
        assert got == ["submitted", "delivered"], message_uuid
    client.server.stop()
    again = start_sandbox(db=str(db), clock="manual")
    assert len(again.get("/_sandbox/messages").json()["items"]) == 2


def test_a_journal_from_a_newer_sandbox_is_refused_clearly(tmp_path):
    db = tmp_path / "newer.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(SchemaError) as caught:
        Store(str(db))
    expected = (
        f"{db}: this journal has schema version {LATEST + 1}, written by a newer Messages "
        f"Sandbox; this one reads versions up to {LATEST}. Serve it with that newer version, "
        "or give another --db file."
    )
    assert str(caught.value) == expected
    result = subprocess.run(
        serve_command("--db", str(db)), capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (2, f"messages-sandbox: {expected}\n")
    assert user_version(db) == LATEST + 1  # untouched


def test_a_database_that_is_not_a_journal_is_refused(tmp_path):
    db = tmp_path / "other.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    with pytest.raises(
        SchemaError, match="not a Messages Sandbox journal .its tables are invoices."
    ):
        Store(str(db))
    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"invoices"}


def test_a_new_journal_starts_at_the_latest_version(tmp_path):
    store = Store(str(tmp_path / "new.db"))
    store.close()
    assert user_version(tmp_path / "new.db") == LATEST == len(MIGRATIONS)
