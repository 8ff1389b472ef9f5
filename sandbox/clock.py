"""Clocks: real, scaled (--speed N), fast (100x) and manual (time moves only when told to).

Every clock reads epoch seconds; payload timestamps and due times use it. Scripted delays
and retry backoffs go through ``after`` so that ``--speed 10`` makes them ten times
shorter. A manual clock never moves on its own: ``advance`` moves it and tells whoever
listens (the dispatcher), so tests get every due event without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    """The real clock, optionally running scripted delays ``speed`` times faster."""

    manual = False

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed

    def now(self) -> float:
        return time.time()

    def after(self, seconds: float) -> float:
        """The clock time ``seconds`` of scripted delay from now."""
        return self.now() + seconds / self.speed

    def seconds_until(self, when: float | None) -> float | None:
        """How long a waiting thread should sleep for ``when`` (None: until woken)."""
        return None if when is None else max(0.0, when - self.now())


class ManualClock(Clock):
    """A clock that starts at the real time and then moves only by ``advance``/``set``."""

    manual = True

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        super().__init__(speed)
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def seconds_until(self, when: float | None) -> float | None:
        return None  # nothing becomes due until someone moves the clock

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def set(self, when: float) -> None:
        """Move to ``when`` (never backwards) and wake the listeners."""
        with self._lock:
            self._now = max(self._now, when)
        for listener in self._listeners:
            listener()

    def advance(self, seconds: float) -> None:
        self.set(self.now() + max(0.0, seconds))


FAST = 100.0  # how much faster scripts run on the "fast" clock (times --speed)

# The one vocabulary of --clock, SANDBOX_CLOCK, the config file and the pytest plugin.
CLOCKS: dict[str, Callable[[float], Clock]] = {
    "real": Clock,
    "manual": lambda speed: ManualClock(speed=speed),
    "fast": lambda speed: Clock(speed * FAST),
}


def make_clock(kind: str, speed: float) -> Clock:
    """The clock named ``kind`` (one of CLOCKS), running scripts ``speed`` times faster."""
    try:
        return CLOCKS[kind](speed)
    except KeyError:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {kind!r}") from None
