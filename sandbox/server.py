"""Run the sandbox under waitress: in the foreground (the CLI) or on a background thread."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .config import Settings
from .engine import Sandbox
from .problems import gateway
from .web import TRACE_HEADER, create_app

log = logging.getLogger("sandbox.server")
SWITCH_INTERVAL = 0.001


class Server:
    """One sandbox behind one waitress server (one process, ``settings.threads`` workers)."""

    def __init__(self, settings: Settings, sandbox: Sandbox | None = None) -> None:
        self.settings = settings
        self.sandbox = sandbox or Sandbox(settings).start()
        self.wsgi = create_server(
            create_app(sandbox=self.sandbox),
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            ident="messages-sandbox",
            # The request body limit is ours (413 in the Error shape), not waitress's.
            max_request_body_size=max(settings.max_body * 4, 1 << 20),
        )
        # HTTP that never reaches the app (a malformed header…) still gets the Error shape.
        self.wsgi.channel_class = ProblemChannel
        self.sandbox.transport.own_port = self.port
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.wsgi.effective_port)

    @property
    def url(self) -> str:
        host = self.settings.host
        host = "127.0.0.1" if host in ("0.0.0.0", "", "*") else host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, interrupt)
        # Measured (bench/bench.py, interleaved): with the default 5 ms GIL switch interval
        # waitress's I/O thread waits behind busy workers; 1 ms gave +10-40% sends/s and a
        # lower p99. Only in our own process: the pytest plugin leaves its host alone.
        sys.setswitchinterval(SWITCH_INTERVAL)
        log.info("Messages Sandbox listening on %s", self.url)
        try:
            self.wsgi.run()
        finally:
            self.sandbox.close()
            log.info("Messages Sandbox stopped")

    def start(self) -> Server:
        """Serve on a daemon thread; returns once the socket is listening."""
        self._thread = threading.Thread(target=self.wsgi.run, name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every socket from inside the server loop, then wait for the workers."""
        if self._thread is not None:
            self.wsgi.trigger.pull_trigger(self._close_all)
            self._thread.join(timeout)
            self.wsgi.task_dispatcher.shutdown(timeout=timeout)
            self._thread = None
        self.sandbox.close()

    def _close_all(self) -> None:
        for dispatcher in list(self.wsgi._map.values()):
            dispatcher.close()


class ProblemErrorTask(ErrorTask):
    """waitress's answer to unparsable HTTP, in the spec's Error shape with a trace id."""

    def execute(self) -> None:
        error = self.request.error
        trace = os.urandom(16).hex()
        slug = error.reason.lower().replace(" ", "-")
        body = gateway(error.code, slug, error.reason, f"{error.body}.").to_json(trace)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [("Content-Type", "application/problem+json"), (TRACE_HEADER, trace)]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ProblemChannel(HTTPChannel):
    error_task_class = ProblemErrorTask


def interrupt(signum: int, frame: FrameType | None) -> None:
    # waitress's loop stops (and drains its workers) on KeyboardInterrupt.
    raise KeyboardInterrupt(signal.Signals(signum).name)
