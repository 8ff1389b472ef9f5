"""Budgets for requests that hold a server thread on purpose (long-polls, scripted latency,
event streams).

The server keeps ``--threads`` threads for everything else, plus one per budget slot; a
request that finds its budget spent is answered at once instead of queueing behind others.
"""

from __future__ import annotations

import threading
from types import TracebackType


class Budget:
    """At most ``size`` holders at a time; taking a slot never waits.

    ``with budget.slot() as admitted:`` — ``admitted`` is False when none was free; or
    ``acquire()`` / ``release()`` for a slot held past the view (a streamed response).
    (A class, not @contextmanager: Problems are frozen and cannot take a new traceback.)
    """

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self.held = 0
        self._changed = threading.Condition()

    def slot(self) -> _Slot:
        return _Slot(self)

    def acquire(self) -> bool:
        """Take a slot if one is free (never waits); True if taken."""
        with self._changed:
            if self.held >= self.size:
                return False
            self.held += 1
            return True

    def release(self) -> None:
        with self._changed:
            if self.held == 0:
                raise ValueError("released more slots than were taken")
            self.held -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until no slot is held; True if none is."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held == 0, timeout)


class _Slot:
    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._held = False

    def __enter__(self) -> bool:
        self._held = self._budget.acquire()
        return self._held

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held:
            self._budget.release()
