"""Benchmark a Messages Sandbox: throughput and latency of valid and invalid sends.

    python bench/bench.py                 # starts `messages-sandbox serve` itself
    python bench/bench.py --url http://127.0.0.1:4010 --duration 10 --concurrency 8

Load comes from separate processes (keep-alive connections, loopback only) so the client
does not share the server's interpreter. It prints one row per load: requests/s, p50/p99
latency and the status codes seen. Numbers, not assertions: compare runs on one machine.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
