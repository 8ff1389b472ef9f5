"""Bounded resources: threads and sockets do not leak, the in-memory journal stays bounded."""

from __future__ import annotations

import os
import threading

from .receiver import Behaviour, Receiver
from .samples import VALID
from .test_load import send_many, wait_until_settled


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_threads_and_sockets_stop_growing_after_warm_up(start_sandbox):
    receiver = Receiver()
    receiver.behaviours.extend([Behaviour(drop=True), Behaviour(500)] * 30)
    try:
        client = start_sandbox(speed=1000, status_url=receiver.url + "/status")
        send_many(client.url, [VALID["sms-text"]] * 200, clients=4)  # warm up every pool
        wait_until_settled(client, 400)
        threads, fds = threading.active_count(), open_fds()

        send_many(client.url, [VALID["sms-text"]] * 600, clients=4)
        wait_until_settled(client, 1600)
        client.http.post(client.url + "/_sandbox/reset")
        assert threading.active_count() <= threads + 2  # the receiver's handler threads come and go
        assert open_fds() <= fds + 8
    finally:
        receiver.stop()


def test_in_memory_journal_keeps_to_its_limit(start_sandbox):
    client = start_sandbox(speed=1000, journal_limit=100)
    first = send_many(client.url, [VALID["sms-text"]] * 300, clients=4)
    wait_until_nothing_scheduled(client)
    send_many(client.url, [VALID["sms-text"]] * 100, clients=2)
    store = client.sandbox.store  # trimmed by the dispatcher's thread every 100 messages
    assert until(lambda: store.get_message(first[0]) is None, store)
    # The newest limit, plus at most what came since the last trim (one trim interval).
    assert 100 <= store.count_messages() <= 100 + store.trim_every
    newest = client.get("/_sandbox/messages", params={"limit": 1}).json()["items"][0]
    assert newest["message_uuid"]


def test_file_journal_keeps_everything(start_sandbox, tmp_path):
    client = start_sandbox(speed=1000, journal_limit=10, db=str(tmp_path / "j.db"))
    send_many(client.url, [VALID["sms-text"]] * 150, clients=4)
    assert client.sandbox.store.count_messages() == 150


def test_messages_with_undelivered_events_are_never_trimmed(start_sandbox):
    client = start_sandbox(clock="manual", journal_limit=10)  # nothing ever becomes due
    send_many(client.url, [VALID["sms-text"]] * 150, clients=4)
    assert client.sandbox.store.count_messages() == 150


def until(condition, store, timeout: float = 10) -> bool:
    """Wait (on the journal's change signal) until ``condition()`` holds; whether it did."""
    import time

    deadline = time.monotonic() + timeout
    seen = store.version
    while not condition() and time.monotonic() < deadline:
        seen = store.wait_for_change(seen, deadline - time.monotonic())
    return condition()


def wait_until_nothing_scheduled(client) -> None:
    import time

    store, deadline = client.sandbox.store, time.monotonic() + 30
    seen = store.version
    while store.count_events("scheduled"):
        assert time.monotonic() < deadline
        seen = store.wait_for_change(seen, deadline - time.monotonic())
