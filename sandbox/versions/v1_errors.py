"""Messages API v1 errors: the document's eight 422 types, and v1's problem+json answers.

A request error becomes a 422 ``application/json`` Problem of one of the document's types
(ErrorInvalidJson, ErrorChannel … ErrorClientReference); the types that carry
``invalid_parameters`` list every violation. Gateway errors (401, 402, 404, 429, 500)
keep the ``application/problem+json`` shape v0.1 uses, which the document's
ErrorResponse also describes (type, title, detail, instance).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..problems import GATEWAY_TYPE, InvalidParameter, Problem
from .v1_document import V1Document

UNPROCESSABLE = 422
V1_JSON = "application/json"
# The order the checks report in when a request has several faults: what the message is
# (channel, type), then who it is between, then its reference and options, then content.
PRIORITY = (
    "channel",
    "message_type",
    "sender",
    "recipient",
    "client_ref",
    "channel_params",
    "message_params",
)


class V1Errors:
    """Builds the 422 Problems of the v1 document."""

    def __init__(self, document: V1Document) -> None:
        self.types = document.error_types

    def problem(
        self, kind: str, parameters: Sequence[InvalidParameter] = (), detail: str | None = None
    ) -> Problem:
        """A 422 of type ``kind``; ``detail`` (else the document's) says what was wrong."""
        error = self.types[kind]
        listed = tuple(parameters) if error.lists_parameters else ()
        return Problem(
            UNPROCESSABLE,
            error.type,
            error.title,
            detail or error.detail,
            listed,
            media_type=V1_JSON,
        )

    def first(self, found: Sequence[tuple[str, InvalidParameter]]) -> Problem:
        """The Problem for the highest-priority kind among ``found`` (kind, violation) pairs."""
        kind = min((k for k, _ in found), key=PRIORITY.index)
        same = [v for k, v in found if k == kind]
        if self.types[kind].lists_parameters:
            return self.problem(kind, same)
        reasons = "; ".join(f"{v.name} {v.reason}" for v in same)
        return self.problem(kind, detail=f"{self.types[kind].detail} ({reasons})")

    def invalid_json(self, detail: str) -> Problem:
        return self.problem("invalid_json", detail=detail)

    def translate(self, problem: Problem) -> Problem:
        """A Problem raised by the shared HTTP parsing, in v1's terms: bad JSON is a 422."""
        if problem.type == GATEWAY_TYPE + "invalid-json":
            return self.invalid_json(problem.detail)
        return problem
