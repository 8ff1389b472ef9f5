"""What the customers of each scope said, as far as channel rules care: facts for scenarios.

Two stateful rules of the platform need it: WhatsApp's 24-hour customer-care window (a
customer's message opens it for 24 hours) and SMS opt-out (a customer who texts STOP to a
number gets nothing more from it until START). The engine records each inbound message,
injected or scripted, at the clock time it occurs; a send asks for the facts at its own
clock time, so a manual clock or ``--speed`` moves the window. Kept in memory, per scope,
like the stateful counters (a reset forgets it; a restart starts afresh).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

WINDOW_SECONDS = 24 * 3600
# Vonage's SMS opt-out keywords (x-errors 1240: "the user has already sent a STOP opt-out
# message"); START opts back in.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "UNSTOP"})

Key = tuple[str, str, str, str]  # scope, channel, business, customer


@dataclass
class Conversations:
    """Inbound times per conversation, and who opted out of SMS from which number."""

    _inbound: dict[Key, list[float]] = field(default_factory=dict)
    _opted_out: set[tuple[str, str, str]] = field(default_factory=set)
    _written: set[Key] = field(default_factory=set)  # the business wrote to the customer
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inbound(
        self, key: Key, at: float, text: str | None = None, now: float | None = None
    ) -> None:
        """The customer wrote at ``at`` (a clock time, maybe still to come for a reply)."""
        scope, channel, business, customer = key
        word = (text or "").strip().upper()
        with self._lock:
            horizon = (now if now is not None else at) - WINDOW_SECONDS
            times = [t for t in self._inbound.get(key, []) if t > horizon]
            self._inbound[key] = [*times, at]
            if channel == "sms" and word in OPT_OUT:
                self._opted_out.add((scope, business, customer))
            elif channel == "sms" and word in OPT_IN:
                self._opted_out.discard((scope, business, customer))

    def sent(self, key: Key) -> None:
        """The business sent the customer a message (accepted) on this channel."""
        with self._lock:
            self._written.add(key)

    def facts(self, key: Key, now: float) -> dict[str, str]:
        """``whatsapp_window`` (open | closed), ``opted_out`` and ``first_message`` (yes |
        no: the business never sent this customer anything on this channel) for a send."""
        scope, _, business, customer = key
        with self._lock:
            times = self._inbound.get(key, ())
            is_open = any(t <= now < t + WINDOW_SECONDS for t in times)
            opted_out = (scope, business, customer) in self._opted_out
            first = key not in self._written
        return {
            "whatsapp_window": "open" if is_open else "closed",
            "opted_out": "yes" if opted_out else "no",
            "first_message": "yes" if first else "no",
        }

    def reset(self, scope: str | None = None) -> None:
        with self._lock:
            if scope is None:
                self._inbound.clear()
                self._opted_out.clear()
                self._written.clear()
                return
            self._inbound = {k: v for k, v in self._inbound.items() if k[0] != scope}
            self._opted_out = {k for k in self._opted_out if k[0] != scope}
            self._written = {k for k in self._written if k[0] != scope}
