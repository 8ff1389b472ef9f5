"""The table of error codes, their magic recipients and what happens, from the loaded scripts.

It is derived from the built-in scenarios themselves (not written by hand), so what it
says is what the sandbox does; the README carries the same table and a test compares them.
"""

from __future__ import annotations

from .scenarios import Library, Script
from .spec import Spec


def describe(script: Script) -> str:
    """'submitted, then rejected with error 1300' (or the synchronous answer)."""
    if script.answer and script.answer.get("status", 202) != 202:
        headers = ", ".join(f"{k}: {v}" for k, v in (script.answer.get("headers") or {}).items())
        return f"POST answered {script.answer['status']}" + (f" with {headers}" if headers else "")
    parts = []
    for step in script.steps:
        text = step["status"]
        if step.get("error") is not None:
            text += f" with error {step['error']}"
        if step["status"] == "submitted" and "usage" not in step and not step.get("error"):
            text += " (not charged)"
        parts.append(text)
    return ", then ".join(parts)


def error_rows(library: Library, spec: Spec, version: str) -> list[tuple[str, str, str, str]]:
    """(code, title, magic recipient, what happens) for every x-errors code of ``version``."""
    by_code = {}
    for scenario in library.scenarios.values():
        for recipient, rule in scenario.index.get(version, {}).items():
            by_code.setdefault(rule.name, (recipient, rule))
    rows = []
    for code, error in spec.errors.items():
        recipient, rule = by_code.get(str(code), ("–", None))
        happens = describe(rule.scripts[0]) if rule else "no magic recipient"
        rows.append((str(code), error.title, recipient, happens))
    return rows


def http_recipients(library: Library, version: str) -> list[str]:
    return [
        recipient
        for scenario in library.scenarios.values()
        for recipient, rule in scenario.index.get(version, {}).items()
        if rule.scripts[0].answer
    ]


def markdown(library: Library, spec: Spec, version: str = "v0.1") -> str:
    """The magic-recipient table of ``version`` (``spec``: that version's document)."""
    lines = ["| code | title | magic recipient | what happens |", "|---|---|---|---|"]
    lines += [
        f"| {code} | {title} | `{to}` | {happens} |"
        for code, title, to, happens in error_rows(library, spec, version)
    ]
    http = http_recipients(library, version)
    if http:
        statuses = ", ".join(r[-3:] for r in http)
        lines += [
            "",
            f"Synchronous failures: `{http[0][:-3]}` + an HTTP status ({statuses}) answers the "
            "POST itself with that status in the Error shape (429 and 503 with `Retry-After`); "
            "no webhooks follow.",
        ]
    return "\n".join(lines) + "\n"
