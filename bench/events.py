"""Event throughput and memory: a million valid sends through the accept path, in process.

    python bench/events.py                     # 1,000,000 sends, a line every 100,000
    python bench/events.py --sends 200000 --every 20000
    python bench/events.py --profile 20000     # cProfile of the accept path, top 25
    python bench/events.py --http 60           # a `serve` process under wrk, 16 connections

Drives ``Sandbox.send`` with a parsed v0.1 SMS as fast as one thread can (the HTTP layer
is not in the way, so this is a higher rate than a server reaches), real clock, no --db,
no webhooks, the default ``--journal-limit``. Each line: sends so far, the rate since the
last line, RSS, messages in the journal, events in the dispatcher's queue, and how late
the last 5,000 ``submitted`` events occurred (occurred - due, p50/p99/max).

``--http`` measures the same over HTTP: a ``serve`` process (no --db, quiet) loaded by wrk
with 16 connections in 10-second rounds; after each, its RSS, the journal's size (read
through the admin API) and the lag of the newest 500 ``submitted`` events.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.auth import Principal  # noqa: E402
from sandbox.config import Settings  # noqa: E402
from sandbox.engine import Sandbox  # noqa: E402

SMS = {
    "to": {"type": "sms", "number": "447700900000"},
    "from": {"type": "sms", "number": "Acme"},
    "message": {"content": {"type": "text", "text": "Your code is 1234"}},
    "client_ref": "bench",
}


AUTH = "Basic " + base64.b64encode(b"bench:secret").decode()


def rss_mb(pid: str = "self") -> float:
    """A process's resident set size now (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def lag_ms(sandbox: Sandbox) -> tuple[float, float, float]:
    """p50, p99 and max of occurred - due over the last 5,000 submitted events, in ms."""
    rows = sandbox.store.query(
        "SELECT occurred_at - due_at AS lag FROM events WHERE status = 'submitted' "
        "AND occurred_at IS NOT NULL ORDER BY id DESC LIMIT 5000"
    )
    lags = sorted(r["lag"] * 1000 for r in rows) or [float("nan")]
    return lags[len(lags) // 2], lags[int(len(lags) * 0.99)], lags[-1]


def run(sends: int, every: int) -> None:
    with Sandbox(Settings()) as sandbox:
        message = sandbox.parsers["v0.1"].parse(SMS)
        principal = Principal("basic", api_key="bench")
        print("sends\tsends/s\tRSS MB\tjournal\tqueued\tlag p50/p99/max ms", flush=True)
        mark = time.perf_counter()
        for done in range(1, sends + 1):
            sandbox.send(message, principal, "bench")
            if done % every == 0:
                now = time.perf_counter()
                queued = len(sandbox.dispatcher.schedule.tasks())
                p50, p99, worst = lag_ms(sandbox)
                print(
                    f"{done}\t{every / (now - mark):.0f}\t{rss_mb():.1f}\t"
                    f"{sandbox.store.count_messages()}\t{queued}\t"
                    f"{p50:.1f}/{p99:.1f}/{worst:.1f}",
                    flush=True,
                )
                mark = time.perf_counter()


def profile(sends: int) -> None:
    with Sandbox(Settings()) as sandbox:
        message = sandbox.parsers["v0.1"].parse(SMS)
        principal = Principal("basic", api_key="bench")
        for _ in range(1000):  # warm up
            sandbox.send(message, principal, "bench")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(sends):
            sandbox.send(message, principal, "bench")
        profiler.disable()
        print(f"{(time.perf_counter() - started) / sends * 1e6:.0f} µs a send (profiled)")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def http_run(seconds: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"])
    try:
        wait_healthy(url)
        print("after s\tsends/s\tRSS MB\tjournal\tlag p50/p99/max ms", flush=True)
        print(f"0\t-\t{rss_mb(str(server.pid)):.1f}\t0\t-", flush=True)
        for done in range(10, seconds + 1, 10):
            rate = wrk(url, 10)
            p50, p99, worst = http_lag_ms(url)
            print(
                f"{done}\t{rate:.0f}\t{rss_mb(str(server.pid)):.1f}\t{journal_size(url)}\t"
                f"{p50:.1f}/{p99:.1f}/{worst:.1f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)


def wait_healthy(url: str) -> None:
    for _ in range(200):
        try:
            urlopen(url + "/_sandbox/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def wrk(url: str, seconds: int) -> float:
    """Valid sends for ``seconds`` from 16 connections; wrk's requests per second."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"wrk.method = 'POST'\nwrk.body = [[{json.dumps(SMS)}]]\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
            f"wrk.headers['Authorization'] = '{AUTH}'\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name, url + "/v0.1/messages"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def get(url: str) -> dict:
    return json.load(urlopen(Request(url), timeout=30))


def journal_size(url: str) -> int:
    """Messages in the journal, counted page by page through the admin API."""
    count, before = 0, ""
    while True:
        page = get(f"{url}/_sandbox/messages?limit=500{before}")
        count += len(page["items"])
        if not page["next_before"]:
            return count
        before = f"&before={page['next_before']}"


def http_lag_ms(url: str) -> tuple[float, float, float]:
    items = get(f"{url}/_sandbox/webhooks?status=submitted&state=unsent&limit=500")["items"]
    lags = sorted((epoch(i["occurred_at"]) - epoch(i["due_at"])) * 1000 for i in items)
    lags = lags or [float("nan")]
    return lags[len(lags) // 2], lags[int(len(lags) * 0.99)], lags[-1]


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--profile", type=int, metavar="SENDS", help="profile instead")
    parser.add_argument("--http", type=int, metavar="SECONDS", help="over HTTP instead")
    args = parser.parse_args()
    if args.http:
        http_run(args.http)
    elif args.profile:
        profile(args.profile)
    else:
        run(args.sends, args.every)


if __name__ == "__main__":
    main()
