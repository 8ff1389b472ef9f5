"""Deliver webhooks on time, in order per message, retried on failure.

``Schedule`` is a pure due-time queue. ``Dispatcher`` owns one worker thread that wakes
when something is due (or is scheduled, or the clock moves), hands each due event to the
``Lifecycle`` (which renders and journals it and gives back a frozen ``Delivery``, or
nothing) and passes deliveries to ``Senders``, a small sender pool. Per message, the next
webhook waits until the one before it is delivered or given up. Per receiver host at most
``per_host`` POSTs run at once, so a slow or dead receiver holds a few senders, never all
of them. Failures are retried after 5, 10, 20 … seconds, capped at 900, for up to 24
hours (all configurable, all scaled by the clock's speed). The API thread never waits.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .clock import Clock, ManualClock
from .lifecycle import Delivery, DueEvent, Lifecycle, Signer
from .states import EventState
from .transport import Outcome, Transport

log = logging.getLogger("sandbox.dispatcher")

# Due events handled in one journal transaction: enough that a transaction's cost is
# shared, few enough that the accepts waiting for the journal's lock wait ~1 ms.
BATCH = 128
# An accept waits (at most MAX_PACE_WAIT s) while the oldest due event is more than
# MAX_LAG s overdue: the one dispatcher thread competes for the GIL with every HTTP
# thread, and without this the accepts outrun it and the backlog grows without end.
MAX_LAG = 0.05
MAX_PACE_WAIT = 1.0
# On a real clock, after a batch smaller than BATCH the worker lets events gather this
# long: fewer, larger transactions and fewer hand-overs of the journal's lock and the GIL
# between it and the accepts (in-process, 350 → 243 µs a send). It adds at most this
# much lag; the manual clock never pauses (its steps wait for the worker).
PAUSE = 0.005


@dataclass(eq=False)
class Task:
    """The dispatcher's own record of one event on its way: due, then a delivery."""

    message_uuid: str
    due: DueEvent | None = None
    delivery: Delivery | None = None
    cancelled: bool = False
    manual: str | None = None  # 'retry' or 'resend' when the admin API asked for this POST

    @classmethod
    def of(cls, item: DueEvent | Delivery) -> Task:
        if isinstance(item, Delivery):
            return cls(item.message_uuid, delivery=item)
        return cls(item.message_uuid, due=item)


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
        self._heap: list[tuple[float, int, str, Task]] = []
        self._order = itertools.count()

    def add(self, when: float, action: str, task: Task) -> None:
        heapq.heappush(self._heap, (when, next(self._order), action, task))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int | None = None) -> list[tuple[str, Task]]:
        due: list[tuple[str, Task]] = []
        while self._heap and self._heap[0][0] <= now and len(due) != limit:
            _, _, action, task = heapq.heappop(self._heap)
            due.append((action, task))
        return due

    def hurry(self, action: str, match: Callable[[Task], bool], when: float) -> Task | None:
        """Move the first live ``action`` whose task matches to ``when`` (if sooner); the task."""
        for index, (at, order, act, task) in enumerate(self._heap):
            if act == action and not task.cancelled and match(task):
                self._heap[index] = (min(at, when), order, act, task)
                heapq.heapify(self._heap)
                return task
        return None

    def tasks(self) -> list[Task]:
        return [task for _, _, _, task in self._heap]

    def discard_cancelled(self) -> None:
        self._heap = [item for item in self._heap if not item[3].cancelled]
        heapq.heapify(self._heap)


@dataclass(frozen=True)
class Refusal:
    """Why an admin action on a webhook was refused: an error id and a sentence."""

    error_id: str
    detail: str


WRONG_STATE_HINTS = {
    ("retry", EventState.SCHEDULED): "it has not occurred yet (advance the clock)",
    ("retry", EventState.DELIVERED): "it was delivered (resend it instead)",
    ("retry", EventState.FAILED): "it was given up (resend it instead)",
    ("resend", EventState.PENDING): "it is still being delivered (retry it now instead)",
    ("resend", EventState.SCHEDULED): "it has not occurred yet (advance the clock)",
}


def wrong_state(event_id: int, state: EventState, action: str) -> Refusal:
    """The refusal of ``action`` on an event in ``state``, with what to do instead."""
    hint = WRONG_STATE_HINTS.get((action, state), "it has nothing to send")
    return Refusal(
        "wrong-state", f"Webhook {event_id} is {state.value}: cannot {action} it; {hint}."
    )


class Senders:
    """Delivery, apart from scheduling: one chain per message (its head is the one being
    sent), at most ``per_host`` POSTs per receiver host, a pool of sender threads.

    Shares its owner's condition (one lock guards the queue and the chains); a refused
    delivery goes back to the owner through ``retry``.
    """

    def __init__(
        self,
        lifecycle: Lifecycle,
        clock: Clock,
        transport: Transport,
        cond: threading.Condition,
        retry: Callable[[Task], None],
        policy: RetryPolicy,
        signer: Signer | None = None,
        senders: int = 128,
        per_host: int = 4,
    ) -> None:
        self.lifecycle, self.clock, self.transport = lifecycle, clock, transport
        self.cond, self.retry, self.policy, self.signer = cond, retry, policy, signer
        self.per_host = per_host
        self.chains: dict[str, deque[Task]] = {}
        self.host_busy: dict[str, int] = {}
        self.host_waiting: dict[str, deque[Task]] = {}
        self.running = False
        # Threads start only as concurrent deliveries need them; with at most ``per_host``
        # per receiver, 32 slow receivers at once still leave room for every other one.
        self.pool = ThreadPoolExecutor(senders, thread_name_prefix="sandbox-webhook")

    def start(self) -> None:
        """Start sending, beginning with the chains queued before (a restart's backlog)."""
        with self.cond:
            self.running = True
            for chain in self.chains.values():
                self.send(chain[0])

    def stop(self) -> None:
        """Let POSTs in flight finish; what is queued stays pending in the journal."""
        with self.cond:
            self.running = False
        self.pool.shutdown(wait=True, cancel_futures=True)

    def queued(self) -> list[Task]:
        """Under the lock: every task in a chain or waiting for its host."""
        chained = [t for chain in self.chains.values() for t in chain]
        return chained + [t for q in self.host_waiting.values() for t in q]

    def discard_cancelled(self) -> None:
        """Under the lock: drop the chains and waits of cancelled tasks."""
        self.chains = {u: c for u, c in self.chains.items() if not c[0].cancelled}
        for host, queue in self.host_waiting.items():
            self.host_waiting[host] = deque(t for t in queue if not t.cancelled)

    def busy(self) -> bool:
        """Under the lock: is a POST in flight?"""
        return any(self.host_busy.values())

    def enqueue(self, task: Task) -> None:
        """Join the message's chain; the head of a chain is the one being delivered."""
        with self.cond:
            chain = self.chains.setdefault(task.message_uuid, deque())
            chain.append(task)
            if len(chain) == 1:
                self.send(task)

    def send(self, task: Task) -> None:
        """Start this task's POST now, or queue it behind its host's limit."""
        with self.cond:
            if not self.running:
                return  # stopping: the event stays pending in the journal for the next start
            assert task.delivery is not None
            host = urlsplit(task.delivery.url).netloc
            if self.host_busy.get(host, 0) >= self.per_host:
                self.host_waiting.setdefault(host, deque()).append(task)
                return
            self.host_busy[host] = self.host_busy.get(host, 0) + 1
            try:
                self.pool.submit(self._attempt, task, host)
            except RuntimeError:  # the pool shut down between our check and now
                self.host_busy[host] -= 1

    def _attempt(self, task: Task, host: str) -> None:
        delivery = task.delivery
        assert delivery is not None
        try:
            at = self.clock.now()
            if delivery.first_attempt_at is None:
                task.delivery = delivery = replace(delivery, first_attempt_at=at)
            headers = self.signer(delivery) if self.signer else {}
            outcome = self.transport.post(delivery.url, delivery.body, headers)
            self._settle(task, at, outcome)
        except Exception:  # (signing, the journal…): try again later, keep the order
            log.exception("delivery of event %s failed unexpectedly", delivery.event_id)
            task.delivery = replace(delivery, attempts=delivery.attempts + 1)
            self.retry(task)
        finally:
            self._release(host)

    def _settle(self, task: Task, at: float, outcome: Outcome) -> None:
        if task.cancelled:
            return  # its message was reset while the POST was in flight
        delivery = replace(task.delivery, attempts=task.delivery.attempts + 1)
        task.delivery = delivery
        window = self.policy.give_up_after / self.clock.speed
        give_up = self.clock.now() >= delivery.first_attempt_at + window
        manual, task.manual = task.manual, None
        state = self.lifecycle.attempted(delivery, at, outcome, give_up, manual)
        if state is None:  # its message was reset while the POST was in flight
            task.cancelled = True
            self._next_in_chain(task)
        elif state == EventState.PENDING:
            self.retry(task)
        else:
            self._next_in_chain(task)

    def _next_in_chain(self, task: Task) -> None:
        with self.cond:
            chain = self.chains.get(task.message_uuid)
            if chain and chain[0] is task:
                chain.popleft()
            if chain:
                self.send(chain[0])
            else:
                self.chains.pop(task.message_uuid, None)
            self.cond.notify_all()

    def _release(self, host: str) -> None:
        with self.cond:
            self.host_busy[host] -= 1
            waiting = self.host_waiting.get(host)
            if waiting:
                self.send(waiting.popleft())
            self.cond.notify_all()


class Dispatcher:
    """The background worker: each event occurs on time; its delivery goes to ``Senders``;
    refused deliveries come back here to be retried at their time."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        clock: Clock,
        transport: Transport,
        policy: RetryPolicy = RetryPolicy(),
        signer: Signer | None = None,
        senders: int = 128,
        per_host: int = 4,
    ) -> None:
        self.lifecycle, self.clock, self.policy = lifecycle, clock, policy
        self.cond = threading.Condition()
        self.schedule = Schedule()
        self.senders = Senders(
            lifecycle,
            clock,
            transport,
            self.cond,
            self._retry_later,
            policy,
            signer,
            senders,
            per_host,
        )
        self.working = 0
        self.running = False
        self.pause = 0.0 if isinstance(clock, ManualClock) else PAUSE
        lifecycle.when_maintenance_due(self.wakeup)
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker, and the deliveries queued before it (a restart's backlog)."""
        with self.cond:
            self.running = True
        self.senders.start()
        self._thread = threading.Thread(target=self._run, name="sandbox-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop waking up; let POSTs in flight finish. Undelivered events stay journaled."""
        with self.cond:
            self.running = False
            self.cond.notify_all()
        if self._thread:
            self._thread.join(timeout)
        self.senders.stop()

    def wakeup(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # input -----------------------------------------------------------------------------

    def schedule_events(self, events: Iterable[DueEvent]) -> None:
        """Events planned for their due time (a new message, or a restart)."""
        with self.cond:
            head = self.schedule.next_due()
            for event in events:
                self.schedule.add(event.due_at, "occur", Task.of(event))
            # The worker sleeps until the head is due: wake it only if that changed, not
            # on every accept (the journal wakes it itself when a trim is due).
            if self.schedule.next_due() != head:
                self.cond.notify_all()

    def keep_pace(self) -> None:
        """Back-pressure for the accept path: wait while the worker is behind (bounded)."""
        with self.cond:
            if self.behind():
                self.cond.wait_for(lambda: not self.behind(), MAX_PACE_WAIT)

    def behind(self) -> bool:
        """Under the lock: is the oldest due event more than ``MAX_LAG`` s overdue?"""
        due = self.schedule.next_due()
        return self.running and due is not None and due < self.clock.now() - MAX_LAG

    def forget(self, message_uuids: Iterable[str] | None = None) -> None:
        """Cancel every event of these messages (None: of all): nothing more is sent for them."""
        chosen = None if message_uuids is None else set(message_uuids)
        with self.cond:
            for task in [*self.schedule.tasks(), *self.senders.queued()]:
                if chosen is None or task.message_uuid in chosen:
                    task.cancelled = True
            self.schedule.discard_cancelled()
            self.senders.discard_cancelled()
            self.cond.notify_all()

    def resume_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        """Events that occurred before a restart but were not delivered: deliver them first.

        Called before ``start``, so the chains hold them before any overdue event occurs.
        """
        for delivery in deliveries:
            self.senders.enqueue(Task.of(delivery))

    # the admin API's actions ------------------------------------------------------------

    def retry_now(self, event_id: int) -> Refusal | None:
        """A failing delivery waiting for its next retry is tried now (None), else why not.

        Only the head of its message's chain ever waits for a retry, so trying it now
        never overtakes an earlier undelivered event of the same message.
        """
        found = self.lifecycle.delivery(event_id)
        if found is None:
            return Refusal("not-found", f"There is no webhook (event) {event_id}.")
        state, _ = found
        if state != EventState.PENDING:
            return wrong_state(event_id, state, "retry")

        def match(task: Task) -> bool:
            return task.delivery is not None and task.delivery.event_id == event_id

        with self.cond:
            task = self.schedule.hurry("retry", match, self.clock.now())
            if task is None:
                return Refusal(
                    "not-waiting",
                    f"Webhook {event_id} is not waiting for a retry: its POST is in flight, or "
                    "it waits behind an earlier webhook of its message (retry that one).",
                )
            task.manual = "retry"
            self.cond.notify_all()
        return None

    def resend(self, event_id: int) -> Refusal | None:
        """A delivered or given-up webhook is POSTed once more, its body unchanged (None),
        else why not. It joins its message's chain like any delivery."""
        found = self.lifecycle.delivery(event_id)
        if found is None:
            return Refusal("not-found", f"There is no webhook (event) {event_id}.")
        state, delivery = found
        if state not in (EventState.DELIVERED, EventState.FAILED) or delivery is None:
            return wrong_state(event_id, state, "resend")
        self.senders.enqueue(Task(delivery.message_uuid, delivery=delivery, manual="resend"))
        return None

    # the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self.cond:
                due = self._wait_for_due()
                if due is None:
                    return
                self.working += 1
            try:
                self._handle(due)
                self.lifecycle.maintain()
            except Exception:  # the worker must outlive anything one batch does
                log.exception("the dispatcher's batch failed")
            finally:
                with self.cond:
                    self.working -= 1
                    self.cond.notify_all()
                    if len(due) < BATCH and self.pause and self.running:
                        self.cond.wait(self.pause)

    def _wait_for_due(self) -> list[tuple[str, Task]] | None:
        """Under the lock: block until something is due or the journal wants trimming (a
        batch, maybe empty), or stop (None)."""
        while self.running:
            due = self.schedule.pop_due(self.clock.now(), BATCH)
            if due or self.lifecycle.maintenance_due():
                return due
            self.cond.wait(self.clock.seconds_until(self.schedule.next_due()))
        return None

    def _handle(self, due: list[tuple[str, Task]]) -> None:
        """A batch: retries go to the senders; due events occur in one transaction."""
        live = [(action, task) for action, task in due if not task.cancelled]
        for task in (task for action, task in live if action == "retry"):
            self.senders.send(task)
        occurring = [task for action, task in live if action == "occur"]
        if not occurring:
            return
        try:
            deliveries = self.lifecycle.occur_batch([task.due for task in occurring])
        except Exception:  # (the journal…): one at a time, so one broken event strands none
            log.exception("a batch of %d events failed; occurring one by one", len(occurring))
            deliveries = [self._occur_one(task.due) for task in occurring]
        for task, delivery in zip(occurring, deliveries, strict=True):
            task.delivery = delivery
            if delivery is not None:
                self.senders.enqueue(task)

    def _occur_one(self, due: DueEvent | None) -> Delivery | None:
        assert due is not None
        try:
            return self.lifecycle.occur(due)
        except Exception as exc:
            self.lifecycle.broken(due, exc)
            return None

    def _retry_later(self, task: Task) -> None:
        with self.cond:
            attempts = task.delivery.attempts if task.delivery else 1
            self.schedule.add(self.clock.after(self.policy.delay(attempts)), "retry", task)
            self.cond.notify_all()

    def next_due(self) -> float | None:
        with self.cond:
            return self.schedule.next_due()

    # idleness (the manual clock waits for it) -------------------------------------------

    def busy(self) -> bool:
        """Under the lock: is anything due now, being handled, or being sent?"""
        due = self.schedule.next_due()
        return (
            self.working > 0 or (due is not None and due <= self.clock.now()) or self.senders.busy()
        )

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing due is left undone (``Timeline`` waits for it between steps)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.busy(), timeout)
