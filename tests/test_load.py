"""Load and faults, bounded in count and time, loopback only.

Many concurrent clients; a receiver that is slow, fails, drops connections or is down
for a while; a SIGKILL in the middle of the load. Nothing accepted may be lost, every
webhook must arrive once per attempt that got an answer, and in order per message.
"""

from __future__ import annotations

import itertools
import signal
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import BASIC
from .processes import serve_command
from .receiver import Behaviour, Receiver
from .samples import VALID, message
from .test_durability import free_port

ORDER = {"submitted": 0, "delivered": 1, "read": 2}


def send_many(url: str, bodies: list[dict], clients: int) -> list[str]:
    """POST every body from ``clients`` threads (a keep-alive session each); the 202 uuids."""
    local = threading.local()

    def send(body: dict) -> str | None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        try:
            response = local.session.post(
                url + "/v0.1/messages", json=body, headers={"Authorization": BASIC}, timeout=10
            )
        except requests.RequestException:  # the server died mid-exchange: not known accepted
            return None
        assert response.status_code == 202, response.text
        return response.json()["message_uuid"]

    with ThreadPoolExecutor(clients) as pool:
        return [u for u in pool.map(send, bodies) if u]


def in_order(receipts: list[tuple[str, str]]) -> bool:
    """Per message, no status arrives after a later one arrived."""
    seen: dict[str, int] = {}
    for message_uuid, status in receipts:
        if ORDER[status] < seen.get(message_uuid, -1):
            return False
        seen[message_uuid] = ORDER[status]
    return True


def test_concurrent_clients_lose_nothing_and_webhooks_arrive_once_in_order(start_sandbox):
    receiver = Receiver()
    try:
        client = start_sandbox(speed=1000, status_url=receiver.url + "/status")
        bodies = [message("sms-text", client_ref=f"load-{i}") for i in range(1500)]
        bodies += [VALID["whatsapp-text"]] * 500
        accepted = send_many(client.url, bodies, clients=8)
        assert len(accepted) == 2000

        receiver.wait_for(1500 * 2 + 500 * 3, "/status", timeout=90)
        journaled = {m["uuid"] for m in client.sandbox.store.query("SELECT uuid FROM messages")}
        assert journaled == set(accepted)
        receipts = [(r.json["message_uuid"], r.json["status"]) for r in receiver.on("/status")]
        counts = Counter(receipts)
        assert set(counts.values()) == {1}  # exactly once: every answer was a 200
        assert {u for u, _ in receipts} == set(accepted)
        assert in_order(receipts)
        assert client.healthy()
    finally:
        receiver.stop()


def test_faulty_receiver_retried_nothing_lost_api_responsive(start_sandbox):
    port = free_port()
    first = Receiver(port)
    first.behaviours.extend(
        itertools.islice(
            itertools.cycle(
                [Behaviour(500), Behaviour(200, delay=0.2), Behaviour(drop=True), Behaviour(200)]
            ),
            300,
        )
    )
    client = start_sandbox(
        speed=100, webhook_timeout=1, status_url=f"http://127.0.0.1:{port}/status"
    )
    second = None
    try:
        accepted = send_many(client.url, [VALID["sms-text"]] * 150, clients=4)
        first.stop()  # down for a while: connections are refused
        during = send_many(client.url, [VALID["viber-text"]] * 50, clients=2)
        assert client.healthy()
        second = Receiver(port)  # back up on the same port
        accepted += during
        wait_until_settled(client, len(accepted) * 2)

        events = client.sandbox.store.query("SELECT id, message_uuid, status, state FROM events")
        assert {e["state"] for e in events} == {"delivered"}
        assert {e["message_uuid"] for e in events} == set(accepted)
        attempts = client.sandbox.store.query(
            "SELECT e.message_uuid, e.status, COUNT(*) AS tries, COUNT(a.status_code) AS answered "
            "FROM attempts a JOIN events e ON e.id = a.event_id GROUP BY e.message_uuid, e.status"
        )
        received = sorted(first.on("/status") + second.on("/status"), key=lambda r: r.at)
        receipts = Counter((r.json["message_uuid"], r.json["status"]) for r in received)
        # At most one receipt per attempt, and one for every attempt that got an answer (a
        # receipt can lack an answer: the receiver logs, then goes down before replying).
        for a in attempts:
            got = receipts[(a["message_uuid"], a["status"])]
            assert a["answered"] <= got <= a["tries"], (a, got)
        assert sum(receipts.values()) <= sum(a["tries"] for a in attempts)
        by_message = defaultdict(list)
        for r in received:
            by_message[r.json["message_uuid"]].append(r.json["status"])
        bad = {u: seq for u, seq in by_message.items() if not in_order([(u, s) for s in seq])}
        assert not bad, bad
    finally:
        if second:
            second.stop()


def wait_until_settled(client, expected: int, timeout: float = 60) -> None:
    """Block (on the journal's own change signal) until ``expected`` events are delivered."""
    import time

    store, deadline = client.sandbox.store, time.monotonic() + timeout
    seen = store.version
    while store.count_events("delivered") < expected:
        assert time.monotonic() < deadline, f"{store.count_events('delivered')} of {expected}"
        seen = store.wait_for_change(seen, deadline - time.monotonic())


def test_sigkill_mid_load_loses_nothing_accepted(spawn, tmp_path):
    port, db = free_port(), str(tmp_path / "journal.db")
    receiver = Receiver(port)
    flags = ["--db", db, "--speed", "100", "--status-url", f"http://127.0.0.1:{port}/status"]
    process = spawn(serve_command(*flags))
    url = process.wait_until_healthy()
    accepted: list[str] = []
    killer = threading.Timer(1.0, lambda: process.proc.send_signal(signal.SIGKILL))
    killer.start()
    try:
        while process.proc.poll() is None:  # keep sending until the kill lands mid-load
            accepted += send_many(url, [VALID["sms-text"]] * 40, clients=4)
        assert len(accepted) > 40

        restarted = spawn(serve_command(*flags))
        restarted.wait_until_healthy()
        expected = {(u, s) for u in accepted for s in ("submitted", "delivered")}
        receiver.wait_for(len(expected), "/status", timeout=60)

        def got():
            return {(r.json["message_uuid"], r.json["status"]) for r in receiver.on("/status")}

        receiver.cond.acquire()
        receiver.cond.wait_for(lambda: expected <= got(), 30)
        receiver.cond.release()
        assert expected <= got()  # a delivery cut short by the kill may arrive twice
        restarted.stop()
    finally:
        killer.cancel()
        receiver.stop()
