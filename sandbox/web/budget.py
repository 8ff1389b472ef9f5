"""Budgets for requests that hold a server thread on purpose (long-polls, scripted latency).

The server keeps ``--threads`` threads for everything else, plus one per budget slot; a
request that finds its budget spent is answered at once instead of queueing behind others.
"""

from __future__ import annotations

import threading
from types import TracebackType


class Budget:
    """At most ``size`` holders at a time; taking a slot never waits.

    ``with budget.slot() as admitted:`` — ``admitted`` is False when none was free.
    (A class, not @contextmanager: Problems are frozen and cannot take a new traceback.)
    """

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._slots = threading.BoundedSemaphore(self.size) if self.size else None

    def slot(self) -> _Slot:
        return _Slot(self._slots)


class _Slot:
    def __init__(self, slots: threading.BoundedSemaphore | None) -> None:
        self._slots = slots
        self._held = False

    def __enter__(self) -> bool:
        self._held = self._slots is not None and self._slots.acquire(blocking=False)
        return self._held

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held and self._slots is not None:
            self._slots.release()
