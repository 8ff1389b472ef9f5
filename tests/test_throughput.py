"""Sustained sends at full speed over HTTP (loopback, 20 s): the events keep up.

The journal stays within ``--journal-limit`` plus its documented slack (the messages still
open: sends/s × a message's scripted life, plus one trim interval), ``submitted`` events
occur close to their due time, and threads and sockets do not grow.
"""

from __future__ import annotations

import threading
import time

import requests

from .conftest import BASIC
from .samples import VALID
from .test_resources import open_fds
from .test_resources import until as eventually

SECONDS = 20
CLIENTS = 4
LIMIT = 500
SPEED = 10  # the default SMS script lives 0.5 + 2 + 1 s: 0.35 s at this speed
LIFE = 3.5 / SPEED


def keep_sending(url: str, until: float, accepted: list[float]) -> None:
    """POST valid sends until ``until`` (monotonic); note when each 202 came back."""
    with requests.Session() as session:
        while time.monotonic() < until:
            response = session.post(
                url + "/v0.1/messages",
                json=VALID["sms-text"],
                headers={"Authorization": BASIC},
                timeout=10,
            )
            assert response.status_code == 202, response.text
            accepted.append(time.monotonic())


def watch(store, until: float, seen: list[int]) -> None:
    """Sample the journal's size four times a second."""
    while time.monotonic() < until:
        seen.append(store.count_messages())
        time.sleep(0.25)


def peak_rate(times: list[float]) -> float:
    """The most sends accepted in any one-second window (per second)."""
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while times[start] < at - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return float(best)


def submitted_lag_ms(store) -> list[float]:
    rows = store.query(
        "SELECT occurred_at - due_at AS lag FROM events "
        "WHERE status = 'submitted' AND occurred_at IS NOT NULL"
    )
    return sorted(r["lag"] * 1000 for r in rows)


def test_sustained_sends_keep_the_journal_bounded_and_events_on_time(start_sandbox):
    client = start_sandbox(speed=SPEED, journal_limit=LIMIT)
    store = client.sandbox.store
    warm_until = time.monotonic() + 2
    keep_sending(client.url, warm_until, [])  # warm up every pool before counting
    threads, fds = threading.active_count(), open_fds()

    until = time.monotonic() + SECONDS
    accepted: list[float] = []
    sizes: list[int] = []
    workers = [
        threading.Thread(target=keep_sending, args=(client.url, until, accepted))
        for _ in range(CLIENTS)
    ] + [threading.Thread(target=watch, args=(store, until, sizes))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(SECONDS + 15)
    assert len(accepted) > 20 * SECONDS  # it did serve at a real rate
    rate = peak_rate(accepted)
    slack = rate * LIFE + store.trim_every + 128  # open messages, one trim, one batch
    assert max(sizes) <= LIMIT + slack, (max(sizes), rate)

    lags = submitted_lag_ms(store)  # the newest LIMIT-odd messages' events
    assert len(lags) > 100
    assert lags[int(len(lags) * 0.99)] <= 250, lags[-20:]
    assert threading.active_count() <= threads + 2  # (a closing client thread or two)
    assert open_fds() <= fds + 8

    # Once everything settled the dispatcher holds nothing for any message, trimmed or not.
    assert eventually(lambda: not store.count_events("scheduled"), store)
    dispatcher = client.sandbox.dispatcher
    with dispatcher.cond:
        assert dispatcher.schedule.tasks() == []
        assert dispatcher.senders.queued() == [] and dispatcher.senders.chains == {}
