"""Problems: every way a request can fail, as data. The web layer renders them.

A ``Problem`` carries the HTTP status and the spec's Error fields except ``instance``
(the trace id, added at the edge). Gateway-wide errors use the developer.nexmo.com
``api-errors#<id>`` types that the real gateway used; validation uses the Messages
API's own ``InvalidParams`` type (see docs/behaviour.md §2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus

from .jsontext import compact_json_bytes

GATEWAY_TYPE = "https://developer.nexmo.com/api-errors#"
INVALID_PARAMS_TYPE = "https://www.nexmo.com/messages/Errors#InvalidParams"
INVALID_PARAMS_TITLE = "Your request parameters didn't validate."


@dataclass(frozen=True)
class InvalidParameter:
    """One violation: ``name`` is the dotted path (message.content.text), ``reason`` says why."""

    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True, eq=False)
class Problem(Exception):
    """A failed request: status, Error fields, optional parameter list, headers, extra fields."""

    status: int
    type: str
    title: str
    detail: str
    invalid_parameters: tuple[InvalidParameter, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=())
    extra: dict[str, object] = field(default_factory=dict)
    # v1 answers request errors (422) as application/json, the rest as problem+json
    media_type: str = "application/problem+json"

    def body(self, instance: str) -> dict[str, object]:
        """The spec's Error shape (plus ``invalid_parameters`` when there are any)."""
        body: dict[str, object] = {
            "type": self.type,
            "title": self.title,
            "detail": self.detail,
            "instance": instance,
        }
        if self.invalid_parameters:
            body["invalid_parameters"] = [p.as_dict() for p in self.invalid_parameters]
        body.update(self.extra)
        return body

    def to_json(self, instance: str) -> bytes:
        """The body as sent: compact UTF-8 JSON."""
        return compact_json_bytes(self.body(instance))


def gateway(status: int, error_id: str, title: str, detail: str, **extra) -> Problem:
    """A gateway-level error (auth, JSON, method, path…) with the api-errors type."""
    return Problem(status, GATEWAY_TYPE + error_id, title, detail, **extra)


def invalid_params(violations: Iterable[InvalidParameter]) -> Problem:
    """400 listing every violation; the detail counts them as the real API did."""
    violations = tuple(violations)
    detail = f"Found errors validating {len(violations)} of your submitted parameters."
    return Problem(400, INVALID_PARAMS_TYPE, INVALID_PARAMS_TITLE, detail, violations)


def unauthorized(detail: str, error_id: str = "unauthorized") -> Problem:
    return gateway(401, error_id, "Invalid credentials supplied", detail)


def invalid_json(detail: str) -> Problem:
    return gateway(400, "invalid-json", "Invalid JSON", detail)


def unsupported_media_type(got: str | None) -> Problem:
    shown = f"got {got!r}" if got else "none was sent"
    return gateway(
        415,
        "content-type-header",
        "Unsupported Content-Type header",
        f"The Content-Type header must be application/json; {shown}.",
    )


def payload_too_large(size: int | None, limit: int) -> Problem:
    got = f"is {size} bytes" if size is not None else f"is over {limit} bytes"
    return gateway(
        413,
        "payload-too-large",
        "Payload Too Large",
        f"The request body {got}; the sandbox accepts at most {limit} bytes.",
    )


def cross_site(detail: str) -> Problem:
    return gateway(403, "cross-site-request", "Cross-site request refused", detail)


def wrong_verb(method: str, path: str, allowed: Iterable[str]) -> Problem:
    allowed = sorted(allowed)
    return gateway(
        405,
        "wrong-verb",
        "Wrong HTTP method",
        f"{method} is not allowed on {path}; use {' or '.join(allowed)}.",
        headers=(("Allow", ", ".join(allowed)),),
    )


def not_found(path: str) -> Problem:
    return gateway(404, "not-found", "Not Found", f"There is no resource at {path}.")


SCRIPTED_DETAILS = {
    429: "Too many requests: the rate limit was exceeded. Wait and retry.",
    500: "The platform failed to process the request. Retry later.",
    502: "The platform received an invalid answer upstream. Retry later.",
    503: "The service is temporarily unavailable. Retry later.",
    504: "The platform timed out upstream. Retry later.",
}


def scripted(status: int, title: str | None = None, detail: str | None = None) -> Problem:
    """The synchronous error a scenario asked for (429, 500, 503…), in the Error shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return gateway(
        status,
        phrase.lower().replace(" ", "-"),
        title or phrase,
        detail or SCRIPTED_DETAILS.get(status, f"The request failed with {status} {phrase}."),
    )


def internal_error() -> Problem:
    return gateway(
        500,
        "internal-error",
        "Internal Server Error",
        "The sandbox failed while handling this request; its log holds the details "
        "under this trace id.",
    )
