"""Scenarios: named rules that match a message and give its script (the timeline after 202).

A rule's ``match`` looks at the channel, ``to``, ``from``, content type, text, client_ref,
application id and api key; its ``scripts`` say what happens: timed steps (statuses with
optional error and usage, inbound replies) and/or a synchronous ``answer`` instead of 202.
A stateful rule gives its first scripts ``times`` uses per recipient, then moves on.

Order: the scenario named by the request (header), then scenarios selected through the
admin API, then every ``select: always`` scenario in load order (user files before the
built-in ones), and the ``fallback`` scenario (the default lifecycle) last of all.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .message import Message

Predicate = Callable[[str | None], bool]


class ScenarioError(ValueError):
    """Scenario files that cannot be used; ``problems`` lists each one with its location."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Facts:
    """What a rule can match on, read once from a message and who sent it."""

    values: dict[str, str | None]

    @classmethod
    def of(cls, message: Message, api_key: str | None, application_id: str | None) -> Facts:
        return cls(
            {
                "channel": message.channel or None,
                "to": message.to or None,
                "from": message.sender or None,
                "content_type": message.content_type or None,
                "text": message.text,
                "client_ref": message.client_ref,
                "application_id": application_id,
                "api_key": api_key,
                "to_number": message.to if message.to_kind == "number" and message.to else None,
                "api_version": message.api_version,
                "category": message.category,
            }
        )

    def get(self, name: str) -> str | None:
        if name == "to_country" and name not in self.values:  # computed when a rule asks
            self.values[name] = country_of(self.values.get("to_number"))
        return self.values.get(name)


def country_of(number: str | None) -> str | None:
    """The main region of a number's calling code ('GB', 'US'…), 'unknown' if it has none.

    None for messages addressed by id. A dict lookup in phonenumbers' table, not a parse:
    numbers that are merely fictional (447700900000) still belong to their country.
    """
    if number is None:
        return None
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    for length in (1, 2, 3):
        regions = (
            COUNTRY_CODE_TO_REGION_CODE.get(int(number[:length]))
            if number[:length].isdigit()
            else None
        )
        if regions:
            return regions[0]
    return "unknown"


def predicate(spec: Any) -> Predicate:
    """'x' exact · [a, b] any of · {prefix: p} · {pattern: regex} (searched; anchor with ^…$)."""
    if isinstance(spec, list):
        options = [predicate(item) for item in spec]
        return lambda value: any(option(value) for option in options)
    if isinstance(spec, dict) and "prefix" in spec:
        prefix = str(spec["prefix"])
        return lambda value: value is not None and value.startswith(prefix)
    if isinstance(spec, dict) and "pattern" in spec:
        regex = re.compile(str(spec["pattern"]))
        return lambda value: value is not None and regex.search(value) is not None
    exact = str(spec)
    return lambda value: value == exact


def exact_values(spec: Any) -> frozenset[str] | None:
    """The values a condition accepts if it names them exactly; None for prefix/pattern."""
    items = spec if isinstance(spec, list) else [spec]
    if any(isinstance(item, dict) for item in items):
        return None
    return frozenset(str(item) for item in items)


@dataclass(frozen=True)
class Matcher:
    """All of the given conditions (none given: matches everything).

    ``exact_to`` is the set of recipients the rule can match at all, when its ``to``
    condition names them exactly: a scenario whose rules all do is skipped in one lookup.
    """

    conditions: tuple[tuple[str, Predicate], ...] = ()
    exact_to: frozenset[str] | None = None

    @classmethod
    def of(cls, spec: dict[str, Any] | None) -> Matcher:
        spec = spec or {}
        exact = exact_values(spec["to"]) if "to" in spec else None
        return cls(tuple((name, predicate(value)) for name, value in spec.items()), exact)

    def matches(self, facts: Facts) -> bool:
        return all(test(facts.get(name)) for name, test in self.conditions)


@dataclass(frozen=True)
class Script:
    """What happens to a matched message: an optional synchronous answer, then steps."""

    steps: tuple[dict[str, Any], ...] = ()
    answer: dict[str, Any] | None = None
    times: int | None = None


@dataclass(frozen=True)
class Rule:
    scenario: str
    name: str
    matcher: Matcher
    scripts: tuple[Script, ...]

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.name}"


@dataclass(frozen=True)
class Scenario:
    """A named set of rules; ``index`` holds generated rules by API version, then by exact
    recipient (magic recipients come from each version's own x-errors catalogue)."""

    name: str
    description: str = ""
    select: str = "always"
    fallback: bool = False
    rules: tuple[Rule, ...] = ()
    index: dict[str, dict[str, Rule]] = field(default_factory=dict)
    source: str = ""

    def find(self, facts: Facts) -> Rule | None:
        """The first rule matching ``facts``: an exact-recipient rule first, then in order."""
        to = facts.get("to") or ""
        rule = self.index.get(facts.get("api_version") or "v0.1", {}).get(to)
        if rule is not None:
            return rule
        if self.recipients is not None and to not in self.recipients:
            return None
        return next((r for r in self.rules if r.matcher.matches(facts)), None)

    @cached_property
    def recipients(self) -> frozenset[str] | None:
        """Every recipient some rule names exactly, if all rules name theirs (else None)."""
        sets = [rule.matcher.exact_to for rule in self.rules]
        if not sets or any(s is None for s in sets):
            return None
        return frozenset().union(*sets)


@dataclass(frozen=True)
class Choice:
    """The rule a message matched and the script it gets."""

    scenario: str
    rule: str
    script: Script


@dataclass
class Counters:
    """How many times each stateful rule has fired per recipient and scope."""

    _counts: dict[tuple[str, ...], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: tuple[str, ...]) -> int:
        """The use number before this one (0 for the first), counting this one."""
        with self._lock:
            used = self._counts.get(key, 0)
            self._counts[key] = used + 1
            return used

    def reset(self, scope: str | None = None) -> None:
        with self._lock:
            if scope is None:
                self._counts.clear()
            else:
                self._counts = {k: v for k, v in self._counts.items() if k[1] != scope}


class Library:
    """Every loaded scenario, and the choice of a rule for a message."""

    def __init__(self, scenarios: Iterable[Scenario]) -> None:
        self.scenarios: dict[str, Scenario] = {s.name: s for s in scenarios}
        values = self.scenarios.values()
        self.default_order = [s for s in values if s.select == "always" and not s.fallback] + [
            s for s in values if s.fallback
        ]

    @property
    def names(self) -> list[str]:
        return list(self.scenarios)

    def order(self, selected: Sequence[str]) -> list[Scenario]:
        """Selected first (in the order given), then the always-on ones, the fallback last."""
        if not selected:
            return self.default_order
        names = dict.fromkeys([*selected, *(s.name for s in self.default_order)])
        return [self.scenarios[name] for name in names if name in self.scenarios]

    def choose(
        self,
        facts: Facts,
        counters: Counters,
        selected: Sequence[str] = (),
        scope: str = "",
    ) -> Choice | None:
        """The first matching rule's choice; a stateful rule counts this use in ``counters``."""
        for scenario in self.order(selected):
            rule = scenario.find(facts)
            if rule is not None:
                script = script_for(rule, facts, counters, scope)
                return Choice(scenario.name, rule.name, script)
        return None


def script_for(rule: Rule, facts: Facts, counters: Counters, scope: str) -> Script:
    if len(rule.scripts) == 1:
        return rule.scripts[0]
    used = counters.take((rule.key, scope, facts.get("to") or ""))
    for script in rule.scripts:
        if script.times is None or used < script.times:
            return script
        used -= script.times
    return rule.scripts[-1]


# planning ------------------------------------------------------------------------------


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files of each path (a file, or a directory's *.yaml/*.yml by name)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


@dataclass(frozen=True)
class PlannedEvent:
    """One step placed in time: its position in the message's timeline and its due time."""

    position: int
    kind: str
    step: dict[str, Any]
    due_at: float


def plan(
    steps: Sequence[dict[str, Any]],
    start: float,
    to_clock: Callable[[float], float],
    rng: random.Random,
) -> list[PlannedEvent]:
    """Place each step ``after`` (+ jitter) seconds after the one before it.

    ``to_clock`` turns scripted seconds into clock seconds (``--speed``); jitter and the
    seeds of generated content come from ``rng``, so a seeded sandbox repeats itself.
    """
    events, offset = [], 0.0
    for position, step in enumerate(steps):
        offset += float(step.get("after", 0)) + rng.uniform(0, float(step.get("jitter", 0)))
        kind = "inbound" if "inbound" in step else "status"
        concrete = {k: v for k, v in step.items() if k not in ("after", "jitter")}
        if kind == "inbound":
            concrete["seed"] = rng.getrandbits(63)
        events.append(PlannedEvent(position, kind, concrete, start + to_clock(offset)))
    return events
