"""Deliver webhooks on time, in order per message, retried on failure, journaled always.

``Schedule`` is a pure due-time queue. ``Dispatcher`` owns one worker thread that wakes
when something is due (or is scheduled, or the manual clock moves), lets each due event
*occur* (the engine's ``prepare`` builds and journals its payload), and hands deliveries
to a small sender pool. Per message, the next webhook waits until the one before it is
delivered or given up. Per receiver host at most ``per_host`` POSTs run at once, so a
slow or dead receiver holds a few senders, never all of them. Failures are retried after
5, 10, 20 … seconds, capped at 900, for up to 24 hours (all configurable, all scaled by
the clock's speed). The API thread never waits for any of it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .clock import Clock
from .store import Store
from .transport import Outcome, Transport

log = logging.getLogger("sandbox.dispatcher")


@dataclass
class Job:
    """One event of one message on its way: what to emit, then what to send where."""

    event_id: int
    message_uuid: str
    position: int
    kind: str
    step: dict[str, Any]
    due_at: float
    context: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    body: bytes | None = None
    first_attempt_at: float | None = None
    attempts: int = 0
    cancelled: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff base doubling up to cap; give up ``give_up_after`` seconds after the first try."""

    base: float = 5.0
    cap: float = 900.0
    give_up_after: float = 86_400.0

    def delay(self, failures: int) -> float:
        return min(self.base * 2 ** (failures - 1), self.cap)


class Schedule:
    """A due-time queue: ``pop_due(now)`` gives what is due, oldest first, ties in order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, Job]] = []
        self._order = itertools.count()

    def add(self, when: float, action: str, job: Job) -> None:
        heapq.heappush(self._heap, (when, next(self._order), action, job))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[str, Job]]:
        due = []
        while self._heap and self._heap[0][0] <= now:
            _, _, action, job = heapq.heappop(self._heap)
            due.append((action, job))
        return due

    def jobs(self) -> list[Job]:
        return [job for _, _, _, job in self._heap]

    def discard_cancelled(self) -> None:
        self._heap = [item for item in self._heap if not item[3].cancelled]
        heapq.heapify(self._heap)


Prepare = Callable[[Job], bool]
Signer = Callable[[Job, bytes], dict[str, str]]


class Dispatcher:
    """The background worker: occurrence on time, ordered delivery, retries, journal."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        transport: Transport,
        prepare: Prepare,
        policy: RetryPolicy = RetryPolicy(),
        signer: Signer | None = None,
        senders: int = 128,
        per_host: int = 4,
    ) -> None:
        self.store, self.clock, self.transport = store, clock, transport
        self.prepare, self.policy, self.signer = prepare, policy, signer
        self.per_host = per_host
        self.cond = threading.Condition()
        self.schedule = Schedule()
        self.chains: dict[str, deque[Job]] = {}
        self.host_busy: dict[str, int] = {}
        self.host_waiting: dict[str, deque[Job]] = {}
        self.working = 0
        self.running = False
        # Threads start only as concurrent deliveries need them; with at most ``per_host``
        # per receiver, 32 slow receivers at once still leave room for every other one.
        self.pool = ThreadPoolExecutor(senders, thread_name_prefix="sandbox-webhook")
        self._thread: threading.Thread | None = None
        if clock.manual:
            clock.on_change(self.wakeup)

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker, and the deliveries queued before it (a restart's backlog)."""
        with self.cond:
            self.running = True
            for chain in self.chains.values():
                self._start(chain[0])
        self._thread = threading.Thread(target=self._run, name="sandbox-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop waking up; let POSTs in flight finish. Undelivered events stay journaled."""
        with self.cond:
            self.running = False
            self.cond.notify_all()
        if self._thread:
            self._thread.join(timeout)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def wakeup(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # input -----------------------------------------------------------------------------

    def schedule_jobs(self, jobs: Iterable[Job]) -> None:
        """Events planned for their due time (a new message, or a restart)."""
        with self.cond:
            for job in jobs:
                self.schedule.add(job.due_at, "occur", job)
            self.cond.notify_all()

    def forget(self, message_uuids: Iterable[str] | None = None) -> None:
        """Cancel every event of these messages (None: of all): nothing more is sent for them."""
        chosen = None if message_uuids is None else set(message_uuids)
        with self.cond:
            queued = [j for chain in self.chains.values() for j in chain]
            waiting = [j for q in self.host_waiting.values() for j in q]
            for job in [*self.schedule.jobs(), *queued, *waiting]:
                if chosen is None or job.message_uuid in chosen:
                    job.cancelled = True
            self.schedule.discard_cancelled()
            self.chains = {u: c for u, c in self.chains.items() if not c[0].cancelled}
            for host, queue in self.host_waiting.items():
                self.host_waiting[host] = deque(j for j in queue if not j.cancelled)
            self.cond.notify_all()

    def resume_deliveries(self, jobs: Iterable[Job]) -> None:
        """Events that occurred before a restart but were not delivered: deliver them first.

        Called before ``start``, so the chains hold them before any overdue event occurs.
        """
        for job in jobs:
            self._enqueue(job)

    # the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self.cond:
                due = self._wait_for_due()
                if due is None:
                    return
                self.working += 1
            for action, job in due:
                try:
                    self._handle(action, job)
                except Exception as exc:  # one broken event must not strand the others
                    self._journal_failure(job, exc)
            with self.cond:
                self.working -= 1
                self.cond.notify_all()

    def _wait_for_due(self) -> list[tuple[str, Job]] | None:
        """Under the lock: block until something is due (or stop); None means stop."""
        while self.running:
            due = self.schedule.pop_due(self.clock.now())
            if due:
                return due
            self.cond.wait(self.clock.seconds_until(self.schedule.next_due()))
        return None

    def _journal_failure(self, job: Job, exc: Exception) -> None:
        """A bug while an event occurred: journal it as invalid (never left 'scheduled')."""
        log.exception("event %s of %s could not be handled", job.event_id, job.message_uuid)
        try:
            self.store.invalid(job.event_id, self.clock.now(), "", f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("and it could not be journaled either")

    def _handle(self, action: str, job: Job) -> None:
        if job.cancelled:
            return
        if action == "retry":
            self._start(job)
        elif self.prepare(job):
            self._enqueue(job)

    # delivery --------------------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        """Join the message's chain; the head of a chain is the one being delivered."""
        with self.cond:
            chain = self.chains.setdefault(job.message_uuid, deque())
            chain.append(job)
            if len(chain) == 1:
                self._start(job)

    def _start(self, job: Job) -> None:
        with self.cond:
            if not self.running:
                return  # stopping: the event stays pending in the journal for the next start
            host = urlsplit(job.url or "").netloc
            if self.host_busy.get(host, 0) >= self.per_host:
                self.host_waiting.setdefault(host, deque()).append(job)
                return
            self.host_busy[host] = self.host_busy.get(host, 0) + 1
            try:
                self.pool.submit(self._attempt, job, host)
            except RuntimeError:  # the pool shut down between our check and now
                self.host_busy[host] -= 1

    def _attempt(self, job: Job, host: str) -> None:
        try:
            at = self.clock.now()
            if job.first_attempt_at is None:
                job.first_attempt_at = at
            headers = self.signer(job, job.body) if self.signer else {}
            outcome = self.transport.post(job.url, job.body, headers)
            self._settle(job, at, outcome)
        except Exception:  # (signing, the journal…): try again later, keep the order
            log.exception("delivery of event %s failed unexpectedly", job.event_id)
            job.attempts += 1
            self._retry_later(job)
        finally:
            self._release(host)

    def _settle(self, job: Job, at: float, outcome: Outcome) -> None:
        if job.cancelled:
            return  # its message was reset while the POST was in flight
        job.attempts += 1
        give_up = self.clock.now() >= job.first_attempt_at + (
            self.policy.give_up_after / self.clock.speed
        )
        state = "delivered" if outcome.ok else ("failed" if give_up else "pending")
        still_there = self.store.attempted(
            job.event_id,
            job.url,
            at,
            outcome.status_code,
            outcome.latency_ms,
            outcome.error or (None if outcome.ok else f"HTTP {outcome.status_code}"),
            state,
        )
        if not still_there:  # its message was reset while the POST was in flight
            job.cancelled = True
            self._next_in_chain(job)
        elif state == "pending":
            self._retry_later(job)
        else:
            self._next_in_chain(job)

    def _retry_later(self, job: Job) -> None:
        with self.cond:
            self.schedule.add(self.clock.after(self.policy.delay(job.attempts)), "retry", job)
            self.cond.notify_all()

    def _next_in_chain(self, job: Job) -> None:
        with self.cond:
            chain = self.chains.get(job.message_uuid)
            if chain and chain[0] is job:
                chain.popleft()
            if chain:
                self._start(chain[0])
            else:
                self.chains.pop(job.message_uuid, None)
            self.cond.notify_all()

    def _release(self, host: str) -> None:
        with self.cond:
            self.host_busy[host] -= 1
            waiting = self.host_waiting.get(host)
            if waiting:
                self._start(waiting.popleft())
            self.cond.notify_all()

    def next_due(self) -> float | None:
        with self.cond:
            return self.schedule.next_due()

    # the manual clock ------------------------------------------------------------------

    def busy(self) -> bool:
        """Under the lock: is anything due now, being handled, or being sent?"""
        due = self.schedule.next_due()
        return (
            self.working > 0
            or (due is not None and due <= self.clock.now())
            or any(self.host_busy.values())
        )

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing due is left undone (used by the manual clock and tests)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.busy(), timeout)

    def advance(self, seconds: float, timeout: float = 30.0) -> None:
        """Manual clock: move forward, stopping at each due time, delivering as it goes."""
        target = self.clock.now() + max(0.0, seconds)
        while True:
            self.wait_idle(timeout)
            with self.cond:
                due = self.schedule.next_due()
            if due is None or due > target:
                break
            self.clock.set(due)
        self.clock.set(target)
        self.wait_idle(timeout)
