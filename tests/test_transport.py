"""The webhook transport on real sockets: keep-alive reuse, and a receiver that closes idle ones."""

from __future__ import annotations

import socket
import threading

from sandbox.transport import Transport


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
