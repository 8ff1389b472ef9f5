"""Moving the manual clock: step from due time to due time, letting each event go out.

The dispatcher only delivers; this is the one place that moves time (``Sandbox.advance``
for the admin API and tests, ``next_due`` for waits that move time themselves).
"""

from __future__ import annotations

from .clock import Clock, ManualClock
from .dispatcher import Dispatcher


class Timeline:
    """Advances a manual clock in step with the dispatcher's work."""

    def __init__(self, clock: Clock, dispatcher: Dispatcher) -> None:
        self.clock, self.dispatcher = clock, dispatcher
        if isinstance(clock, ManualClock):
            clock.on_change(dispatcher.wakeup)

    @property
    def manual(self) -> bool:
        return isinstance(self.clock, ManualClock)

    def advance(self, seconds: float, timeout: float = 30.0) -> None:
        """Move forward, stopping at each due time, delivering as it goes."""
        clock = self.manual_clock()
        target = clock.now() + max(0.0, seconds)
        while True:
            self.dispatcher.wait_idle(timeout)
            due = self.dispatcher.next_due()
            if due is None or due > target:
                break
            clock.set(due)
        clock.set(target)
        self.dispatcher.wait_idle(timeout)

    def to_next_due(self, timeout: float) -> bool:
        """On a manual clock, move to the next due event and let it go out (waiting at most
        ``timeout``); False if nothing is due or the clock is not manual."""
        due = self.dispatcher.next_due() if self.manual else None
        if due is None:
            return False
        self.advance(max(0.0, due - self.clock.now()), timeout=timeout)
        return True

    def manual_clock(self) -> ManualClock:
        if not isinstance(self.clock, ManualClock):
            raise TypeError("only a manual clock can be advanced")
        return self.clock
