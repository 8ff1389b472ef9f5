"""Serve the sandbox on granian (Rust HTTP, WSGI) inside this process: foreground or background.

Measured (docs/performance.md): waitress fell from 610 to 286 sends/s going from 4 to 16
connections, and 100 idle sockets blocked it; granian keeps connections in Rust, so idle and
slow clients cost no Python thread. The journal, scenarios and dispatcher live in this one
process, so granian's WSGI worker runs here on the app we built (granian's own ``Granian``
class would load an import string in a worker process of its own).
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from .config import Settings
from .engine import Sandbox
from .tls import TlsFiles, tls_files
from .web import create_app
from .web.ui import end_streams

log = logging.getLogger("sandbox.server")
WILDCARDS = ("0.0.0.0", "", "*", "::")
MAX_HEADERS = 64 * 1024  # request line and headers; larger get 431 from granian
RUST_THREADS = 1  # granian's I/O runtime: one thread keeps up with Python on 2 cores
MAX_CONNECTIONS = 10_000  # open client connections (idle ones cost no Python thread)


class Server:
    """One sandbox behind one granian WSGI worker in this process."""

    def __init__(self, settings: Settings, sandbox: Sandbox | None = None) -> None:
        self.settings = settings
        self.tls: TlsFiles | None = tls_files(settings)
        self._socket = listen(settings.host, settings.port, settings.backlog)
        self.port: int = self._socket.getsockname()[1]
        try:
            self.sandbox = sandbox or Sandbox(settings).start()
        except BaseException:
            self._socket.close()
            raise
        try:
            self.sandbox.listening_on(self.port)
            self.app = InFlight(create_app(sandbox=self.sandbox, tls_cert=self.tls_cert))
        except BaseException:
            self._socket.close()
            if sandbox is None:  # ours: its dispatcher thread and journal would be left open
                self.sandbox.close()
            raise
        self._granian: Granian | None = None
        self._started = self._closed = False

    @property
    def tls_cert(self) -> str | None:
        return str(self.tls.cert) if self.tls else None

    @property
    def url(self) -> str:
        host = self.settings.host
        host = "127.0.0.1" if host in WILDCARDS else host
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> Server:
        """Serve on granian's threads; returns once the listener accepts connections."""
        if self._started:
            raise RuntimeError("this server was already started")
        self._started = True
        self._granian = run_granian(self._socket, self.app, self.settings, self.tls)
        log.info("Messages Sandbox listening on %s", self.url)
        if self.tls:
            log.info(
                "TLS certificate: %s; trust it with REQUESTS_CA_BUNDLE=%s", *[self.tls.cert] * 2
            )
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening, let requests in progress finish (at most ``timeout`` s), stop."""
        if self._closed:
            return
        self._closed = True
        if self._granian is not None:
            deadline = time.monotonic() + timeout
            self._granian.stop.set()  # granian closes the listener and the idle connections
            self.app.drain(timeout)
            end_streams(self.app.app, timeout)  # drain stops counting a stream once returned
            if not self._granian.stopped.wait(max(0.0, deadline - time.monotonic())):
                log.warning("granian's worker had not stopped after %.1f s", timeout)
        else:
            self._socket.close()
        self.sandbox.close()
        log.info("Messages Sandbox stopped")

    stop = close

    def __enter__(self) -> Server:
        return self if self._started else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly (main thread only)."""
        with StopSignals() as signals, self:
            signals.install()  # again: granian's start must not have replaced them
            signum = signals.wait()
            log.info("%s: stopping", signal.Signals(signum).name)


class StopSignals:
    """SIGINT and SIGTERM, waited for in the main thread without a lock in any handler.

    The handlers do nothing: Python's C-level handler writes the signal number to a wakeup
    socket whichever thread the signal lands on (granian's Rust threads included), and
    ``wait`` reads it. The previous handlers and wakeup fd come back on exit.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> StopSignals:
        self._read, self._write = socket.socketpair()
        self._write.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._previous = {signum: signal.getsignal(signum) for signum in self.SIGNALS}
        self.install()
        return self

    def install(self) -> None:
        for signum in self.SIGNALS:
            if signal.getsignal(signum) is not ignore_signal:
                signal.signal(signum, ignore_signal)

    def wait(self) -> int:
        """The number of the first SIGINT or SIGTERM received."""
        while True:
            for signum in self._read.recv(64):
                if signum in self.SIGNALS:
                    return signum

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()


def ignore_signal(signum: int, frame: FrameType | None) -> None:
    """SIGINT and SIGTERM while serving: ``StopSignals.wait`` sees them on its socket."""


def python_thread_count(settings: Settings) -> int:
    """Threads that run the app: the API's, plus the long-polls', delays' and streams' budgets."""
    return settings.threads + settings.max_waits + settings.max_delayed + settings.max_streams


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket (IPv6 when the host is one; both stacks for ``::``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bind = "" if host in ("", "*") else host
    return socket.create_server(
        (bind, port), family=family, backlog=backlog, dualstack_ipv6=host == "::"
    )


class InFlight:
    """The WSGI app, counting requests in progress so that close() can let them finish."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.cond = threading.Condition()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self.cond:
            self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.cond:
                self.count -= 1
                self.cond.notify_all()

    def drain(self, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count == 0, timeout)


@dataclass(frozen=True)
class Granian:
    """A running granian worker: set ``stop`` to stop it; ``stopped`` is set once it has
    (connections closed, its tasks done, its Python callbacks released)."""

    stop: Any
    stopped: threading.Event


def run_granian(sock: socket.socket, app: Any, settings: Settings, tls: TlsFiles | None) -> Granian:
    """Start granian's WSGI worker on ``sock`` in this process.

    This is what granian's own thread-based server does for each worker, without its
    process supervision: ``granian.server.mt`` only runs on free-threaded Python.
    """
    from granian._futures import _new_cbscheduler
    from granian._granian import SocketHolder, WorkerSignal, WSGIWorker
    from granian._loops import loops
    from granian.wsgi import _callback_wrapper

    python_threads = python_thread_count(settings)
    holder = SocketHolder(sock.detach(), False, settings.backlog)  # granian closes it
    stop, stopped = WorkerSignal(), threading.Event()
    stop.add_cb(stopped.set)  # granian calls it once its worker has stopped
    worker = WSGIWorker(
        1,
        (None, holder),
        None,  # no IPC: there is no supervising process
        RUST_THREADS,
        8,  # Rust-side blocking threads (file I/O); Python never runs there
        python_threads,
        30,  # idle Python threads end after 30 s
        MAX_CONNECTIONS,  # backpressure: granian holds a permit per open connection
        "1",  # HTTP/1.1 only
        http1_settings(settings),
        None,  # no HTTP/2 settings
        None,  # no static files
        *tls_arguments(tls),
        (None, None),  # no metrics
    )
    loop = loops.get("asyncio")
    scheduler = _new_cbscheduler(loop, _callback_wrapper(app, {}, None), impl_asyncio=True)
    worker.serve_mtr(scheduler, loop, stop)
    return Granian(stop, stopped)


def http1_settings(settings: Settings) -> Any:
    from granian.http import HTTP1Settings

    return HTTP1Settings(
        header_read_timeout=int(settings.header_timeout * 1000),
        keep_alive=settings.keep_alive,
        max_buffer_size=MAX_HEADERS,
    )


def tls_arguments(tls: TlsFiles | None) -> tuple:
    """granian's TLS arguments: on, cert, key, key password, lowest protocol, CA, CRLs,
    client verification."""
    if tls is None:
        return (False, None, None, None, "tls1.2", None, [], False)
    return (True, str(tls.cert.resolve()), str(tls.key.resolve()), None, "tls1.2", None, [], False)
