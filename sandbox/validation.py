"""Validate a send request: the document's NewMessage schema, then the channel rules.

Schema errors come from the validator compiled once from the spec (``Spec.validator``);
each becomes an ``InvalidParameter`` whose reason says what is wrong and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import ValidationError

from .channels import check_channel_rules
from .problems import InvalidParameter
from .spec import Spec

JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}
ARTICLES = {"object": "an object", "array": "an array", "integer": "an integer"}


def dotted(path: Iterable[Any]) -> str:
    """('message', 'content', 'parameters', 0) -> 'message.content.parameters[0]'."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


class RequestValidator:
    """Checks a parsed NewMessage body against the spec and the channel rules."""

    def __init__(self, spec: Spec, schema: str = "NewMessage") -> None:
        self.spec = spec
        self.validator = spec.validator(schema)
        self.is_valid = spec.is_valid(schema)

    def violations(self, body: Any) -> list[InvalidParameter]:
        """Every violation, one per parameter name, schema ones first."""
        if not isinstance(body, dict):
            return [InvalidParameter("(body)", f"must be a JSON object; got {json_type(body)}")]
        found = check_channel_rules(body)
        if not self.is_valid(body):
            schema = [v for error in self.validator.iter_errors(body) for v in translate(error)]
            found = schema + found
        return unique_by_name(found)


def unique_by_name(violations: Sequence[InvalidParameter]) -> list[InvalidParameter]:
    """Keep the first reason given for each parameter (a wrong type also fails its enum)."""
    seen: dict[str, InvalidParameter] = {}
    for violation in violations:
        seen.setdefault(violation.name, violation)
    return list(seen.values())


def translate(error: ValidationError) -> list[InvalidParameter]:
    """One jsonschema error -> the parameters it is about, with a readable reason."""
    path = list(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [p for p in expected if isinstance(value, dict) and p not in value]
        return [InvalidParameter(dotted([*path, p]), required_reason(error, p)) for p in missing]
    return [InvalidParameter(dotted(path) or "(body)", reason_for(keyword, expected, value, error))]


def required_reason(error: ValidationError, missing: str) -> str:
    allowed = (error.schema.get("properties", {}).get(missing) or {}).get("enum")
    return "is required" + (f"; one of {', '.join(map(str, allowed))}" if allowed else "")


def reason_for(keyword: str, expected: Any, value: Any, error: ValidationError) -> str:
    if keyword == "type":
        wanted = ARTICLES.get(expected, f"a {expected}")
        return f"must be {wanted}; got {json_type(value)}"
    if keyword == "enum":
        return f"must be one of {', '.join(map(str, expected))}; got {value!r}"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else length_reason("at least", expected, value)
    if keyword == "maxLength":
        return length_reason("at most", expected, value)
    if keyword in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        if low is not None and high is not None:
            return f"must be between {low} and {high}; got {value!r}"
        return (
            f"must be {'at least' if keyword == 'minimum' else 'at most'} {expected}; got {value!r}"
        )
    return error.message


def length_reason(bound: str, limit: int, value: Any) -> str:
    return f"must be {bound} {limit} characters; got {len(value)}"
