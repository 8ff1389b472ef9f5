"""Event throughput and memory: a million valid sends through the accept path, in process.

    python bench/events.py                     # 1,000,000 sends, a line every 100,000
    python bench/events.py --sends 200000 --every 20000
    python bench/events.py --profile 20000     # cProfile of the accept path, top 25

Drives ``Sandbox.send`` with a parsed v0.1 SMS as fast as one thread can (the HTTP layer
is not in the way, so this is a higher rate than a server reaches), real clock, no --db,
no webhooks, the default ``--journal-limit``. Each line: sends so far, the rate since the
last line, RSS, messages in the journal, events in the dispatcher's queue, and how late
the last 5,000 ``submitted`` events occurred (occurred - due, p50/p99/max).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

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


def rss_mb() -> float:
    """This process's resident set size now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--profile", type=int, metavar="SENDS", help="profile instead")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
    else:
        run(args.sends, args.every)


if __name__ == "__main__":
    main()
