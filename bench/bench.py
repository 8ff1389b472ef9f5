"""Benchmark the Messages Sandbox against a bare Flask route and against Stoplight Prism.

    python bench/bench.py                        # everything it can find, ~2-3 minutes
    python bench/bench.py --install-prism        # first fetch Prism (npm) into bench/.prism
    python bench/bench.py --quick                # fewer, shorter rounds

Prints, for the same load in one run: valid and invalid send throughput with p50/p99
latency, valid sends while webhooks fire to a receiver, a bare Flask route on granian,
each product at its default log level and quiet, Prism with and without callbacks (when
installed), 16 connections by default, start-up times, peak
RSS, webhook lag at a sustained rate, and the ratios the project targets. Load comes from
wrk when it is installed (apt install wrk), else from Python client processes; every load
is on loopback, bounded in time; targets run interleaved and the median round is shown.
Numbers, not assertions: this machine's neighbours make single runs noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
PRISM_HOME = HERE / ".prism"
PRISM_BIN = PRISM_HOME / "node_modules" / ".bin" / "prism"
SPEC = HERE.parent / "spec" / "messages-olympus-0.3.1.yml"
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

# loads -------------------------------------------------------------------------------


@dataclass
class Load:
    """One measured load: throughput and latency (medians over rounds)."""

    name: str
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def add(self, rps: float, p50: float, p99: float, statuses: Counter) -> None:
        self.rps.append(rps)
        self.p50.append(p50)
        self.p99.append(p99)
        self.statuses.update(statuses)

    @property
    def median(self) -> tuple[float, float, float]:
        return statistics.median(self.rps), statistics.median(self.p50), statistics.median(self.p99)

    def row(self) -> str:
        rps, p50, p99 = self.median
        spread = f"{min(self.rps):.0f}-{max(self.rps):.0f}"
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return f"{self.name:<34} {rps:>8.0f} {spread:>11} {p50:>8.2f} {p99:>8.2f}   {codes}"


def wrk_load(url: str, path: str, body: dict, seconds: float, connections: int) -> tuple:
    """(req/s, p50 ms, p99 ms, statuses) measured by wrk with a POST body."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 (wrk reads it by name)
    script.write(
        f"wrk.method = 'POST'\nwrk.body = [[{json.dumps(body)}]]\n"
        f"wrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.headers['Authorization'] = '{AUTH}'\n"
    )
    script.close()
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            script.name,
            url + path,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    statuses = Counter({"2xx": total - non2xx, "other": non2xx})
    return rps, wrk_ms(out, "50%"), wrk_ms(out, "99%"), +statuses


def wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def python_worker(url: str, path: str, body: bytes, seconds: float, out) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    latencies, statuses = [], Counter()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] += 1
    out.put((latencies, statuses))


def python_load(url: str, path: str, body: dict, seconds: float, connections: int) -> tuple:
    """The same measure without wrk: client processes with keep-alive connections."""
    out: multiprocessing.Queue = multiprocessing.Queue()
    raw = json.dumps(body).encode()
    procs = [
        multiprocessing.Process(target=python_worker, args=(url, path, raw, seconds, out))
        for _ in range(connections)
    ]
    for proc in procs:
        proc.start()
    latencies, statuses = [], Counter()
    for _ in procs:
        got, codes = out.get()
        latencies += got
        statuses.update(codes)
    for proc in procs:
        proc.join()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return len(latencies) / seconds, pct(0.5), pct(0.99), statuses


# processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is up
    except OSError:
        return False


@dataclass
class Target:
    """A server under test: how to start it, where it serves sends, its process."""

    name: str
    command: list[str]
    path: str = "/v0.1/messages"
    probe: str = "/_sandbox/health"
    port: int = 0
    proc: subprocess.Popen | None = None
    startup: float = 0.0

    def start(self, timeout: float = 60) -> Target:
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        while not answers(self.url + self.probe):
            if time.perf_counter() - started > timeout or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} did not start: {' '.join(command)}")
            time.sleep(0.005)
        self.startup = time.perf_counter() - started
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_mb(self) -> float:
        """VmHWM of the process and its children (Prism may fork)."""
        total = 0
        for pid in process_tree(self.proc.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                total += int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
            except (OSError, AttributeError):
                pass
        return total / 1024

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat[stat.rindex(")") + 2 :].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
            except (OSError, ValueError):
                pass
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def sandbox(*flags: str, name: str = "sandbox", quiet: bool = True) -> Target:
    """The sandbox as users run it; quiet: ``--log-level warning`` (no line per request)."""
    level = ["--log-level", "warning"] if quiet else []
    return Target(
        name,
        [sys.executable, "-m", "sandbox", "serve", "--port", "{port}", *level, *flags],
    )


def prism_target(quiet: bool = True) -> Target | None:
    """Prism as shipped (info logging, a line per request) or quiet (``-v silent``)."""
    if not PRISM_BIN.exists():
        return None
    level = ["-v", "silent"] if quiet else []
    return Target(
        "prism" if quiet else "prism-default",
        [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", "{port}", *level, str(SPEC)],
        path="/messages",  # Prism ignores the servers' /v0.1 base path
        probe="/messages",  # a 405 is an answer
    )


def install_prism() -> None:
    subprocess.run(
        ["npm", "install", "--prefix", str(PRISM_HOME), "@stoplight/prism-cli@5"], check=True
    )


# the webhook receiver ----------------------------------------------------------------


def receiver_main(port: int, ready, out, stop) -> None:
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
                got.append((body.get("message_uuid"), body.get("status", "inbound"), time.time()))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)
        out.put(got)

    asyncio.run(serve())


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.ready, self.stop_event = multiprocessing.Event(), multiprocessing.Event()
        self.out: multiprocessing.Queue = multiprocessing.Queue()
        self.proc = multiprocessing.Process(
            target=receiver_main, args=(self.port, self.ready, self.out, self.stop_event)
        )
        self.proc.start()
        self.ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> list:
        self.stop_event.set()
        got = self.out.get(timeout=30)
        self.proc.join()
        return got


# webhook lag -------------------------------------------------------------------------


def paced_sender(url: str, rate: float, seconds: float, out) -> None:
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


def webhook_lag(rate: float, seconds: float) -> str:
    """Sustained sends with a receiver attached: the lag of each webhook, none lost."""
    db = os.path.join(tempfile.mkdtemp(), "bench.db")
    receiver = Receiver()
    target = sandbox("--db", db, "--status-url", receiver.url).start()
    try:
        out: multiprocessing.Queue = multiprocessing.Queue()
        sender = multiprocessing.Process(target=paced_sender, args=(target.url, rate, seconds, out))
        sender.start()
        accepted = out.get()
        sender.join()
        deadline = time.time() + 30
        while time.time() < deadline and count_delivered(db) < 2 * len(accepted):
            time.sleep(0.2)
    finally:
        target.stop()
    return lag_report(db, accepted, receiver.stop(), rate, seconds)


def count_delivered(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE state = 'delivered'").fetchone()[0]


def lag_report(db: str, accepted: list[str], received: list, rate: float, seconds: float) -> str:
    with sqlite3.connect(db) as conn:
        due = {
            (u, s): d for u, s, d in conn.execute("SELECT message_uuid, status, due_at FROM events")
        }
    seen = Counter((uuid, status) for uuid, status, _ in received)
    lags = sorted(at - due[(u, s)] for u, s, at in received if (u, s) in due)
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


# the run -----------------------------------------------------------------------------


def median_startup(make: Callable[[], Target], runs: int) -> float:
    times = []
    for _ in range(runs):
        target = make().start()
        times.append(target.startup)
        target.stop()
    return statistics.median(times)


def measure(args: argparse.Namespace) -> None:
    measure_load = wrk_load if shutil.which("wrk") and not args.python_load else python_load
    receiver = Receiver()
    prism = prism_target() if not args.no_prism else None
    targets = {
        "bare": Target("bare", [sys.executable, str(HERE / "bare_flask.py"), "{port}"]),
        "sandbox": sandbox(),
        "sandbox-default": sandbox(name="sandbox-default", quiet=False),
        "sandbox+webhooks": sandbox("--status-url", receiver.url, "--speed", "10"),
    }
    if prism:
        targets["prism"] = prism
        targets["prism-default"] = prism_target(quiet=False)
    plan = [
        ("bare Flask route on granian", "bare", VALID),
        ("sandbox: valid sends, quiet", "sandbox", VALID),
        ("sandbox: valid sends, default log", "sandbox-default", VALID),
        ("sandbox: invalid sends (400)", "sandbox", INVALID),
        ("sandbox: valid, webhooks firing", "sandbox+webhooks", VALID),
    ]
    if prism:
        plan += [
            ("prism: valid, no callbacks, quiet", "prism", VALID),
            ("prism: valid, no callbacks, default", "prism-default", VALID),
            ("prism: valid, firing callbacks", "prism", {**VALID, "callback": receiver.url}),
        ]
    loads = {name: Load(name) for name, _, _ in plan}
    print(
        f"load: {measure_load.__name__}, {args.connections} connections, {args.duration:g} s "
        f"a load, {args.rounds} rounds interleaved; {os.cpu_count()} CPUs"
    )
    for target in targets.values():
        target.start()
    try:
        for _ in range(args.rounds):
            for name, key, body in plan:
                target = targets[key]
                loads[name].add(
                    *measure_load(target.url, target.path, body, args.duration, args.connections)
                )
        rss = {key: t.peak_rss_mb() for key, t in targets.items()}
    finally:
        for target in targets.values():
            target.stop()
        receiver.stop()

    print(f"\n{'load':<34} {'req/s':>8} {'range':>11} {'p50 ms':>8} {'p99 ms':>8}   statuses")
    for load in loads.values():
        print(load.row())

    startup = {"sandbox": median_startup(sandbox, args.startup_runs)}
    if prism:
        startup["prism"] = median_startup(prism_target, max(1, args.startup_runs // 2))
    print(
        "\nstart-up to first answer (median): "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in startup.items())
    )
    print("peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))
    print(webhook_lag(args.webhook_rate, args.duration))
    print_targets(loads, startup, rss, prism is not None)


def print_targets(loads: dict, startup: dict, rss: dict, with_prism: bool) -> None:
    def rps(name: str) -> float:
        return loads[name].median[0]

    quiet, default = "sandbox: valid sends, quiet", "sandbox: valid sends, default log"
    bare = rps("bare Flask route on granian")
    rows = [("valid sends (quiet) vs bare Flask on granian", rps(quiet) / bare, 0.4)]
    if with_prism:
        prism_quiet = "prism: valid, no callbacks, quiet"
        rows += [
            ("valid sends vs Prism, both quiet", rps(quiet) / rps(prism_quiet), 1.0),
            (
                "valid sends vs Prism, both default log",
                rps(default) / rps("prism: valid, no callbacks, default"),
                2.0,
            ),
            (
                "webhooks firing vs Prism firing callbacks",
                rps("sandbox: valid, webhooks firing") / rps("prism: valid, firing callbacks"),
                5.0,
            ),
        ]
    print(f"\n{'target':<46} {'measured':>9} {'goal':>9}  met")
    for label, value, goal in rows:
        print(f"{label:<46} {value:>8.2f}x {goal:>8.1f}x  {'yes' if value >= goal else 'NO'}")
    if with_prism:
        mine, theirs = loads[quiet].median[2], loads["prism: valid, no callbacks, quiet"].median[2]
        print(
            f"{'p99 of valid sends vs Prism (ms, quiet)':<46} {mine:>9.1f} {theirs:>9.1f}  "
            f"{'yes' if mine <= theirs else 'NO'}"
        )
    print(
        f"{'start-up to first answer (s)':<46} {startup['sandbox']:>9.2f} {0.5:>9.2f}  "
        f"{'yes' if startup['sandbox'] <= 0.5 else 'NO'}"
    )
    print(
        f"{'peak RSS (MB)':<46} {rss['sandbox']:>9.0f} {100:>9}  "
        f"{'yes' if rss['sandbox'] <= 100 else 'NO'}"
    )
    if not with_prism:
        print("(Prism not installed: python bench/bench.py --install-prism adds the comparison)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds a load")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median shown)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--webhook-rate", type=float, default=500, help="sends/s for webhook lag")
    parser.add_argument("--python-load", action="store_true", help="Python clients, not wrk")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism even if installed")
    parser.add_argument("--install-prism", action="store_true", help="npm install Prism first")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.startup_runs = 1, 3.0, 3
    if args.install_prism:
        install_prism()
    measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
