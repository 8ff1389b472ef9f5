"""A real webhook receiver on loopback: records every POST, answers as it is told."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """How to answer one request: a status, after a delay, or by dropping the connection."""

    status: int = 200
    delay: float = 0.0
    drop: bool = False
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class Receiver:
    """ThreadingHTTPServer that keeps what it got; ``wait_for`` blocks on a condition."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.behaviours: deque[Behaviour] = deque()
        self.default = Behaviour(200)
        self.cond = threading.Condition()
        self.connections: set = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        # A sender that gives up (a timeout) breaks the pipe: expected here, not news.
        self.server.handle_error = lambda request, address: None
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, *behaviours: Behaviour) -> None:
        """Answer the next requests like this (then ``default``)."""
        with self.cond:
            self.behaviours.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self.cond:
            return self.behaviours.popleft() if self.behaviours else self.default

    def record(self, item: Received) -> None:
        with self.cond:
            self.received.append(item)
            self.cond.notify_all()

    def on(self, path: str) -> list[Received]:
        with self.cond:
            return [r for r in self.received if r.path == path]

    def wait_for(
        self, count: int, path: str | None = None, timeout: float = 10.0
    ) -> list[Received]:
        """The first ``count`` requests (to ``path``), waiting up to ``timeout`` for them."""

        def matching() -> list[Received]:
            return [r for r in self.received if path is None or r.path == path]

        with self.cond:
            if not self.cond.wait_for(lambda: len(matching()) >= count, timeout):
                got = [(r.path, r.body[:120]) for r in self.received]
                raise AssertionError(f"expected {count} requests to {path}, got: {got}")
            return matching()[:count]

    def stop(self) -> None:
        """Really down: stop listening and cut the keep-alive connections still open
        (ThreadingHTTPServer would otherwise go on serving them after shutdown)."""
        self.server.shutdown()
        self.server.server_close()
        with self.cond:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver.cond:
                    receiver.connections.add(self.connection)

            def finish(self) -> None:
                with receiver.cond:
                    receiver.connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: no app would see it
                    self.close_connection = True
                    return
                behaviour = receiver.next_behaviour()
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                if behaviour.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                receiver.record(Received(self.path, dict(self.headers), body, time.time()))
                self.send_response(behaviour.status)
                for name, value in behaviour.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(behaviour.body)))
                self.end_headers()
                self.wfile.write(behaviour.body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
