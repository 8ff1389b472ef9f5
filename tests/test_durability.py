"""With --db nothing accepted is lost: undelivered events go out after a restart, even SIGKILL."""

from __future__ import annotations

import signal
import socket

import requests

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
