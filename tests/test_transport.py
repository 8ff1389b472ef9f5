"""The webhook transport on real sockets: keep-alive reuse, and a receiver that closes idle ones."""

from __future__ import annotations

import socket
import threading
import time

from sandbox.transport import Transport, target

from .receiver import Behaviour, Receiver
from .samples import VALID
from .tokens import applications, bearer


class OneRequestPerConnection:
    """Answers one request per connection with keep-alive headers, then closes it anyway,
    as receivers do when an idle keep-alive connection times out."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(body) < length:
                    body += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")


def test_a_connection_the_receiver_closed_is_replaced_within_the_same_attempt():
    receiver = OneRequestPerConnection()
    transport = Transport(timeout=2)
    outcomes = [transport.post(receiver.url, b'{"n":%d}' % i, {}) for i in range(3)]
    assert [o.status_code for o in outcomes] == [204, 204, 204]
    assert all(o.error is None for o in outcomes)
    assert receiver.connections == 3  # each reuse found the connection closed and reopened
    receiver.listener.close()


def test_own_sink_is_answered_without_http():
    transport = Transport(timeout=1)
    transport.own_port = 9  # nothing listens there: an HTTP attempt would be refused
    assert transport.post("http://127.0.0.1:9/_sandbox/sink/status", b"{}", {}).status_code == 204
    assert transport.post("http://127.0.0.1:9/elsewhere", b"{}", {}).error == "connection refused"


class Misbehaving:
    """A receiver on its own thread that runs ``handle(conn)`` for each connection."""

    def __init__(self, handle, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, 0), family=family)
        self.handle = handle
        self.requests = 0
        self.host = f"[{host}]" if ":" in host else host
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.listener.getsockname()[1]}/hook"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(self, conn), daemon=True).start()

    def read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += conn.recv(4096)
        self.requests += 1
        return True


def trickle_headers(receiver: Misbehaving, conn: socket.socket) -> None:
    with conn:
        receiver.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(20):  # one header line every 0.3 s: each read is quick, the whole is not
            try:
                conn.sendall(b"X-Slow-%d: y\r\n" % i)
            except OSError:
                return
            time.sleep(0.3)


def test_webhook_timeout_bounds_the_whole_attempt():
    receiver = Misbehaving(trickle_headers)
    outcome = Transport(timeout=1).post(receiver.url, b"{}", {})
    assert outcome.status_code is None
    assert outcome.error == "timed out after 1s"
    assert 1000 <= outcome.latency_ms < 1600


def answer_once_then_close_unanswered(receiver: Misbehaving, conn: socket.socket) -> None:
    with conn:
        if receiver.read_request(conn):
            conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
        receiver.read_request(conn)  # the second request arrives, and is never answered


def test_a_request_lost_on_a_reused_connection_is_not_resent_silently():
    receiver = Misbehaving(answer_once_then_close_unanswered)
    transport = Transport(timeout=2)
    assert transport.post(receiver.url, b"{}", {}).status_code == 204
    second = transport.post(receiver.url, b"{}", {})
    assert second.status_code is None
    assert second.error == "connection closed by the receiver"
    assert receiver.requests == 2  # one request per attempt: the dispatcher journals the retry
    assert transport.post(receiver.url, b"{}", {}).status_code == 204  # a fresh connection


def answer_all(receiver: Misbehaving, conn: socket.socket) -> None:
    with conn:
        while receiver.read_request(conn):
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")


def test_ipv6_literal_urls_are_delivered():
    receiver = Misbehaving(answer_all, host="::1")
    transport = Transport(timeout=2)
    assert receiver.url.startswith("http://[::1]:")
    outcomes = [transport.post(f"{receiver.url}?n={i}", b"{}", {}) for i in range(3)]
    assert [o.status_code for o in outcomes] == [204, 204, 204]
    assert receiver.requests == 3
    assert target("http://[::1]/hook?a=1") == (("http", "[::1]", 80), "/hook?a=1")
    assert target("https://[fe80::1]:8443/") == (("https", "[fe80::1]", 8443), "/")


def test_a_slow_receiver_does_not_delay_another_host(start_sandbox):
    slow, fast = Receiver(), Receiver()
    slow.behaviours.extend([Behaviour(200, delay=2.0)] * 40)
    try:
        client = start_sandbox(
            speed=1000, applications=applications(slow=slow.url + "/s", fast=fast.url + "/f")
        )
        for _ in range(6):  # 12 slow webhooks: 4 in flight at that host, the rest queued
            assert client.send(VALID["sms-text"], bearer("slow")).status_code == 202
        started = time.monotonic()
        assert client.send(VALID["sms-text"], bearer("fast")).status_code == 202
        fast.wait_for(2, "/f", timeout=5)
        assert time.monotonic() - started < 1.5  # not behind the slow host's 2 s answers
        assert len(slow.on("/s")) <= 4  # the per-host cap: at most 4 at once per host
    finally:
        slow.stop()
        fast.stop()
