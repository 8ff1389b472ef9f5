"""Request bodies as JSON, strictly: one reader for the Messages API and the admin API.

A body must be declared ``application/json``, fit the size limit, be UTF-8, be JSON
(no NaN/Infinity) and hold Unicode text only: a lone UTF-16 surrogate (``"\\ud800"``) is
valid JSON grammar but no character, and nothing downstream (SQLite, webhooks) can encode
it, so it is refused here, naming where it is. Knows nothing of Flask: it reads any object
shaped like a werkzeug request.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any, Protocol

from . import problems

# A \uD800-\uDFFF escape: the only way a surrogate gets into text decoded from UTF-8.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
SURROGATE = re.compile("[\ud800-\udfff]")


class BodyRequest(Protocol):
    """What the reader needs of a request (a werkzeug/Flask request has all of it)."""

    mimetype: str
    content_length: int | None
    stream: IO[bytes]
    headers: Any


def read_json_body(request: BodyRequest, limit: int, *, optional: bool = False) -> Any:
    """The decoded body; Problems: 415 not declared JSON, 413 over ``limit``, 400 not JSON.

    ``optional``: no body at all (and no Content-Type) is allowed and gives None.
    """
    if optional and not request.mimetype:
        if read_limited(request, limit):
            raise problems.unsupported_media_type(None)  # a body must say it is JSON
        return None
    if request.mimetype != "application/json":
        raise problems.unsupported_media_type(request.headers.get("Content-Type"))
    raw = read_limited(request, limit)
    if optional and not raw.strip():
        return None
    return decode_json(raw)


def read_limited(request: BodyRequest, limit: int) -> bytes:
    """At most ``limit`` bytes of the body, or a 413 (by Content-Length before reading)."""
    if request.content_length is not None and request.content_length > limit:
        raise problems.payload_too_large(request.content_length, limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise problems.payload_too_large(None, limit)
    return raw


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def decode_json(raw: bytes) -> Any:
    """The JSON value in ``raw``, or a 400 invalid-json Problem saying what is wrong, where."""
    if not raw.strip():
        raise problems.invalid_json("The request body is empty; expected a JSON object.")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except UnicodeDecodeError as exc:
        raise problems.invalid_json(
            f"The request body is not valid UTF-8 (byte {exc.start})."
        ) from None
    except json.JSONDecodeError as exc:
        raise problems.invalid_json(
            f"The request body is not valid JSON: {exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}."
        ) from None
    except ValueError as exc:
        raise problems.invalid_json(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise problems.invalid_json("The request body is nested too deeply.") from None
    where = lone_surrogate(value) if SURROGATE_ESCAPE.search(raw) else None
    if where:
        raise problems.invalid_json(f"The request body is not valid JSON text: {where}.")
    return value


def lone_surrogate(value: Any) -> str | None:
    """Where ``value`` holds a lone UTF-16 surrogate (a phrase naming the place), or None.

    Iterative, so a body nested as deep as the JSON decoder allows cannot overflow it.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str) and SURROGATE.search(item):
            return f"the value at {path or 'the top level'} {holds(item)}"
        if isinstance(item, dict):
            for key, child in reversed(item.items()):
                if SURROGATE.search(key):
                    place = f"in {path}" if path else "at the top level"
                    return f"the key {shown(key)} {place} {holds(key)}"
                pending.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return None


def shown(text: str) -> str:
    """``text`` printable as UTF-8, surrogates as their \\uXXXX escapes."""
    return '"' + text.encode("utf-8", "backslashreplace").decode("utf-8") + '"'


def holds(text: str) -> str:
    unit = SURROGATE.search(text).group()  # type: ignore[union-attr]
    return f"holds a lone UTF-16 surrogate (\\u{ord(unit):04x}), which is not Unicode text"
