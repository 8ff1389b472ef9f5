"""Budgets for requests that hold a server thread on purpose (long-polls, scripted latency).

The server keeps ``--threads`` threads for everything else, plus one per budget slot; a
request that finds its budget spent is answered at once instead of queueing behind others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Budget:
    """At most ``size`` holders at a time; taking a slot never waits."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._slots = threading.BoundedSemaphore(self.size) if self.size else None

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True while holding a slot, False (at once) when none is free."""
        got = self._slots is not None and self._slots.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._slots.release()
