"""Outbound HTTP for webhooks: keep-alive POSTs on urllib3 connections, bounded per attempt.

urllib3's connection classes bring IPv6 literals, TLS defaults and a dropped-connection
check; its PoolManager costs ~1.5x their CPU per POST (docs/performance.md), so the small
per-host pool is ours. Three rules make an attempt impossible to hold or to hide:
- ``timeout`` bounds the whole attempt (connect, send, every read): a watchdog shuts the
  socket of an attempt that runs past its deadline, so a trickling receiver cannot stretch it;
- an idle connection the receiver closed is found before it is used, and a request that
  fails on a reused connection is never resent silently: it is that attempt's outcome;
- no retries here: retrying is the dispatcher's, each one journaled.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import is_connection_dropped, parse_url

MAX_RESPONSE = 1 << 16  # read (and dropped) past what is kept, so the connection is reused
RESPONSE_KEPT = 4096  # bytes of each response body kept for the journal (docs/webhooks.md)
IDLE_PER_HOST = 4  # idle keep-alive connections kept per receiver
SINK_PATH = "/_sandbox/sink/"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True)
class Outcome:
    """What one POST gave: the status code (None if there was no answer), latency, error;
    the request headers as sent, and the response's headers and first RESPONSE_KEPT bytes."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    request_headers: dict[str, str] | None = None
    response_headers: dict[str, str] | None = None
    response_body: bytes | None = None
    response_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Transport:
    """POSTs bodies to URLs, reusing keep-alive connections per receiver host."""

    def __init__(self, timeout: float, user_agent: str = "messages-sandbox") -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.own_port: int | None = None  # the sandbox's own port, once it listens
        self._idle: dict[tuple, list[HTTPConnection]] = defaultdict(list)
        self._lock = threading.Lock()
        self._watchdog = Watchdog()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()
        sent = {"Content-Type": "application/json", "User-Agent": self.user_agent, **headers}
        if self.is_own_sink(url):
            # The sandbox's own sink answers 204 to anything: answered here, no thread needed.
            return Outcome(204, elapsed_ms(started), None, sent, {}, b"")
        watch = None
        try:
            key, path = target(url)
            connection = self._checkout(key)
            watch = self._watchdog.watch(time.monotonic() + self.timeout, connection)
            answer, reusable = self._exchange(connection, path, body, sent)
            watch.done = True  # before the connection can serve another attempt
            if watch.expired:  # cut off mid-answer: what was read is not an answer
                raise TimeoutError
        except Exception as exc:  # every failure is an outcome to journal, never a crash
            if watch is not None:
                watch.done = True
                connection.close()
            expired = watch is not None and watch.expired
            return Outcome(None, elapsed_ms(started), describe(exc, self.timeout, expired), sent)
        if reusable:
            self._checkin(key, connection)
        else:
            connection.close()
        return Outcome(answer.status, elapsed_ms(started), None, sent, *answer.kept)

    def is_own_sink(self, url: str) -> bool:
        parts = urlsplit(url)
        return (
            self.own_port is not None
            and parts.port == self.own_port
            and parts.hostname in LOOPBACK
            and parts.path.startswith(SINK_PATH)
        )

    def _exchange(
        self, connection: HTTPConnection, path: str, body: bytes, headers: dict
    ) -> tuple[Answer, bool]:
        """(the answer, whether the connection can be reused) of one POST."""
        connection.request("POST", path, body=body, headers=headers, preload_content=False)
        response = connection.getresponse()
        kept = response.read(RESPONSE_KEPT + 1)  # one more byte says whether there was more
        if not response.isclosed():
            response.read(MAX_RESPONSE)  # drained, not kept: the connection can serve again
        # Not reusable when the receiver said so, or when part of the answer was left unread.
        closing = response.headers.get("Connection", "").lower() == "close"
        answer = Answer(response.status, dict(response.headers), kept)
        return answer, not closing and response.isclosed()

    def _checkout(self, key: tuple) -> HTTPConnection:
        """An idle connection still open at the other end, else a new one."""
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()
                if not is_connection_dropped(connection):
                    return connection
                connection.close()
        scheme, host, port = key
        cls = HTTPSConnection if scheme == "https" else HTTPConnection
        return cls(host, port, timeout=self.timeout)

    def _checkin(self, key: tuple, connection: HTTPConnection) -> None:
        with self._lock:
            idle = self._idle[key]
            if len(idle) < IDLE_PER_HOST:
                idle.append(connection)
                return
        connection.close()


@dataclass(frozen=True)
class Answer:
    """The receiver's answer as read: status, headers, the body's first bytes (+1 if longer)."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def kept(self) -> tuple[dict[str, str], bytes, bool]:
        """(headers, body cut to RESPONSE_KEPT, whether it was cut) for the Outcome."""
        return self.headers, self.body[:RESPONSE_KEPT], len(self.body) > RESPONSE_KEPT


def target(url: str) -> tuple[tuple, str]:
    """((scheme, host, port), path?query) of an http(s) URL; IPv6 literals keep brackets."""
    parts = parse_url(url)
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.host, port), parts.request_uri


class Watch:
    """One attempt under watch: the watchdog shuts its socket if it is not done in time."""

    __slots__ = ("connection", "done", "expired")

    def __init__(self, connection: HTTPConnection) -> None:
        self.connection = connection
        self.done = False
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # it may have closed meanwhile
                sock.shutdown(socket.SHUT_RDWR)  # a blocked send or recv returns now


class Watchdog:
    """One thread that cuts off attempts past their deadline (started at the first watch)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, connection: Any) -> Watch:
        watch = Watch(connection)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhook-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def describe(exc: Exception, timeout: float, expired: bool = False) -> str:
    """A short, stable description of why a POST failed."""
    if isinstance(exc, NewConnectionError):  # (a subclass of ConnectTimeoutError)
        exc = exc.__cause__ or exc.__context__ or exc
    if expired or isinstance(exc, TimeoutError | socket.timeout | ConnectTimeoutError):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, CLOSED):
        return "connection closed by the receiver"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"
