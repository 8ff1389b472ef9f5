"""Benchmark a Messages Sandbox: send throughput and latency, and webhook lag.

    python bench/bench.py                 # starts `messages-sandbox serve` itself
    python bench/bench.py --url http://127.0.0.1:4010 --duration 10 --concurrency 4

Load comes from separate processes (keep-alive connections, loopback only) so the client
does not share the server's interpreter. It prints one row per load: requests/s, p50/p99
latency and the status codes seen; then, for a sandbox it started, the webhook lag at a
sustained send rate (delivery time minus scheduled time, from the journal) and whether
every scheduled webhook arrived exactly once. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

AUTH = "Basic " + base64.b64encode(b"bench:secret").decode()
VALID = {
    "to": {"type": "sms", "number": "447700900000"},
    "from": {"type": "sms", "number": "Acme"},
    "message": {"content": {"type": "text", "text": "Your code is 1234"}},
    "client_ref": "bench",
}
INVALID = {
    "to": {"type": "sms", "number": "+447700900000"},
    "from": {"type": "whatsapp", "number": "Acme"},
    "message": {"content": {"type": "image"}},
}


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> str:
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.name:<28} {self.rps:>9.0f} {self.percentile(0.5):>8.2f} "
            f"{self.percentile(0.99):>8.2f}   {codes}"
        )


def worker(url: str, body: bytes, seconds: float, out: multiprocessing.Queue) -> None:
    """One client: a keep-alive connection sending ``body`` until the time is up."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    latencies, statuses = [], Counter()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("POST", "/v0.1/messages", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] += 1
    conn.close()
    out.put((latencies, statuses))


def run_load(name: str, url: str, payload: dict, concurrency: int, seconds: float) -> Result:
    body = json.dumps(payload).encode()
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=worker, args=(url, body, seconds, out))
        for _ in range(concurrency)
    ]
    for proc in procs:
        proc.start()
    result = Result(name, seconds)
    for _ in procs:
        latencies, statuses = out.get()
        result.latencies.extend(latencies)
        result.statuses.update(statuses)
    for proc in procs:
        proc.join()
    return result


def wait_healthy(url: str, timeout: float = 15.0) -> float:
    """Seconds until GET /_sandbox/health answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url + "/_sandbox/health", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not become healthy")


def start_sandbox(port: int, *flags: str) -> tuple[subprocess.Popen, str, float]:
    """Start `messages-sandbox serve`; returns the process, its URL and its start-up time."""
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *flags,
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    wait_healthy(url)
    return proc, url, time.perf_counter() - started


# webhooks ------------------------------------------------------------------------------


def receiver_main(
    port: int, ready: multiprocessing.Event, out: multiprocessing.Queue, stop
) -> None:
    """A minimal asyncio HTTP/1.1 receiver: 204 to every POST, records (uuid, status, time)."""
    got: list[tuple[str, str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = json.loads(await reader.readexactly(length))
                got.append((body["message_uuid"], body.get("status", "inbound"), time.time()))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)
        out.put(got)

    asyncio.run(serve())


def paced_sender(url: str, rate: float, seconds: float, out: multiprocessing.Queue) -> None:
    """Send valid SMS at a steady ``rate`` per second; report the accepted message ids."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    body, accepted, started = json.dumps(VALID).encode(), [], time.perf_counter()
    for i in range(int(rate * seconds)):
        wait = started + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        conn.request("POST", "/v0.1/messages", body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status == 202:
            accepted.append(json.loads(answer)["message_uuid"])
    out.put(accepted)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhook_lag(rate: float, seconds: float) -> str:
    """Sustained sends with a receiver attached: lag of each webhook, and none lost."""
    port, db = free_port(), os.path.join(tempfile.mkdtemp(), "bench.db")
    ready, stop, out = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    receiver = multiprocessing.Process(target=receiver_main, args=(port, ready, out, stop))
    receiver.start()
    ready.wait(10)
    status_url = f"http://127.0.0.1:{port}/status"
    proc, url, _ = start_sandbox(free_port(), "--db", db, "--status-url", status_url)
    try:
        sender = multiprocessing.Process(target=paced_sender, args=(url, rate, seconds, out))
        sender.start()
        accepted = out.get()
        sender.join()
        expected = 2 * len(accepted)  # SMS: submitted, delivered (within ~4 s of sending)
        deadline = time.time() + 30
        while time.time() < deadline and count_delivered(db) < expected:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
        stop.set()
    received = out.get()
    receiver.join()
    return lag_report(db, accepted, received, rate, seconds)


def count_delivered(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE state = 'delivered'").fetchone()[0]


def lag_report(db: str, accepted: list[str], received: list, rate: float, seconds: float) -> str:
    with sqlite3.connect(db) as conn:
        due = {
            (uuid, json.loads(step)["status"]): due_at
            for uuid, step, due_at in conn.execute("SELECT message_uuid, step, due_at FROM events")
        }
    seen = Counter((uuid, status) for uuid, status, _ in received)
    lags = sorted(
        at - due[(uuid, status)] for uuid, status, at in received if (uuid, status) in due
    )
    expected = {(uuid, status) for uuid in accepted for status in ("submitted", "delivered")}
    lost = len(expected - set(seen))
    duplicates = sum(n - 1 for n in seen.values() if n > 1)

    def pct(q: float) -> float:
        return lags[min(len(lags) - 1, int(q * len(lags)))] * 1000 if lags else float("nan")

    return (
        f"webhooks at {rate:g} sends/s for {seconds:g} s: {len(accepted)} accepted, "
        f"{len(received)} webhooks received, lost {lost}, duplicates {duplicates}; "
        f"lag (delivered - scheduled) p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, "
        f"max {pct(1.0):.1f} ms"
    )


def print_table(results: list[Result]) -> None:
    print(f"{'load':<28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   statuses")
    for result in results:
        print(result.row())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running sandbox (default: start one)")
    parser.add_argument("--port", type=int, default=4099, help="port for the started sandbox")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument("--webhook-rate", type=float, default=200, help="sends/s for webhook lag")
    args = parser.parse_args()

    proc = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        proc, url, startup = start_sandbox(args.port)
        print(f"start-up to first healthy answer: {startup * 1000:.0f} ms")
    print(
        f"target {url}, {args.concurrency} clients, {args.duration:g} s per load, pid {os.getpid()}"
    )
    try:
        run_load("warm-up", url, VALID, args.concurrency, 1.0)
        results = [
            run_load("valid sends (202)", url, VALID, args.concurrency, args.duration),
            run_load("invalid sends (400)", url, INVALID, args.concurrency, args.duration),
        ]
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    print_table(results)
    if not args.url:
        print(webhook_lag(args.webhook_rate, args.duration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
