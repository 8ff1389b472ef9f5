"""`messages-sandbox receive`: a webhook receiver that prints every request it gets.

For trying the sandbox by hand: point `--status-url` / `--inbound-url` at it and watch the
webhooks arrive. Standard library only; each request is one stdout line,
``METHOD PATH BODY``, and is answered 200 (any other status is the sandbox's cue to retry).
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PrintingHandler(BaseHTTPRequestHandler):
    """Print the request line and body, answer 200 with no body."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        text = body.decode("utf-8", errors="replace")
        print(f"{self.command} {self.path} {text}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass  # stdout carries the webhooks; the access log would only repeat them


def receive(host: str, port: int) -> None:
    """Listen on host:port and print every webhook until interrupted."""
    server = ThreadingHTTPServer((host, port), PrintingHandler)
    server.daemon_threads = True
    address = f"http://{host}:{server.server_address[1]}"
    print(f"messages-sandbox: receiving webhooks on {address} (Ctrl-C stops)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
