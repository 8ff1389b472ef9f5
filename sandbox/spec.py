"""The OpenAPI document: loaded once, its schemas compiled once, its x-errors catalogue.

The document is the only source of schemas, enums, schema limits and error codes; nothing
here copies them. The full OpenAPI check (openapi-spec-validator) costs ~0.6 s, so it runs
for any document except the shipped one, whose hash the test suite pins after checking it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

from .resources import data_dir

SHIPPED_SPEC = "messages-olympus-0.3.1.yml"
# sha256 of spec/messages-olympus-0.3.1.yml as published; tests/test_spec.py checks both.
SHIPPED_SHA256 = "b83f15bc27ee8a0af79d09088f242f2ac06244ca0a307b3a99c2ee5e1b13bac2"

_WIDE_SEPARATOR = re.compile(r"\s{2,}-\s{2,}")
_NARROW_SEPARATOR = re.compile(r"\s-\s")


class SpecError(ValueError):
    """The document cannot be served: unreadable, not OpenAPI, or missing what we need."""


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the document's ``x-errors``: the code, its short title, the rest."""

    code: int
    title: str
    description: str


def split_error_description(text: str) -> tuple[str, str]:
    """'Throttled - You have exceeded…' -> ('Throttled', 'You have exceeded…').

    The document separates title and explanation with '  -  ' (two spaces) or ' - '; a
    title may itself hold ' - ' ("Illegal Sender Address - rejected"), so the wide
    separator wins when both appear.
    """
    text = str(text).strip()
    match = _WIDE_SEPARATOR.search(text) or _NARROW_SEPARATOR.search(text)
    if not match:
        return text, text
    return text[: match.start()].strip(), text[match.end() :].strip()


class Spec:
    """A loaded OpenAPI document with compiled validators for its component schemas."""

    def __init__(
        self, document: dict[str, Any], source: str = "<memory>", required: str = "NewMessage"
    ) -> None:
        self.document = document
        self.source = source
        self._validators: dict[str, Draft4Validator] = {}
        if required not in self.schemas:
            raise SpecError(f"{source}: no components.schemas.{required}")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Spec:
        """Read the document (default: the shipped one); check it unless it is the shipped one."""
        path = Path(path) if path else data_dir("spec") / SHIPPED_SPEC
        return cls(read_document(path, SHIPPED_SHA256), str(path))

    @property
    def schemas(self) -> dict[str, Any]:
        return self.document.get("components", {}).get("schemas", {})

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))

    def root_schema(self, name: str) -> dict[str, Any]:
        """Schema ``name`` as a standalone root whose '#/components/…' refs still resolve."""
        return {
            "allOf": [{"$ref": f"#/components/schemas/{name}"}],
            "components": {"schemas": self.schemas},
        }

    def validator(self, name: str) -> Draft4Validator:
        """The compiled validator of a component schema (compiled once, then reused)."""
        if name not in self._validators:
            if name not in self.schemas:
                raise SpecError(f"{self.source}: no components.schemas.{name}")
            self._validators[name] = Draft4Validator(self.root_schema(name))
        return self._validators[name]

    def enum(self, schema: str, *path: str) -> tuple[Any, ...]:
        """The enum at ``properties.<path…>`` of a component schema, following $refs."""
        node = self.schemas[schema]
        for key in path:
            node = self.resolve(node)["properties"][key]
        return tuple(self.resolve(node).get("enum", ()))

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not ref:
            return node
        return self.schemas[ref.rsplit("/", 1)[-1]]

    def is_valid(self, name: str) -> Callable[[Any], bool]:
        """A fast yes/no check of schema ``name``: jsonschema-rs (~1 µs) when installed.

        The detailed error list always comes from ``validator`` (jsonschema), which takes
        ~250 µs even for a valid body, so the hot path asks this first.
        """
        try:
            import jsonschema_rs
        except ImportError:  # no wheel for this platform: same answers, slower
            return self.validator(name).is_valid
        return jsonschema_rs.Draft4Validator(self.root_schema(name)).is_valid

    @cached_property
    def errors(self) -> dict[int, ErrorCode]:
        """The ``x-errors`` catalogue, by code, in the document's order."""
        catalogue = {}
        for code, entry in (self.document.get("x-errors") or {}).items():
            title, description = split_error_description((entry or {}).get("description", ""))
            catalogue[int(code)] = ErrorCode(int(code), title, description)
        return catalogue


def read_document(path: Path, shipped_sha256: str) -> dict[str, Any]:
    """The parsed document at ``path``, fully checked unless its hash is the shipped one's."""
    try:
        raw = path.read_bytes()
        document = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document")
    if hashlib.sha256(raw).hexdigest() != shipped_sha256:
        check_document(document, str(path))
    return document


def check_document(document: dict[str, Any], source: str) -> None:
    """Full OpenAPI 3 check of a document that is not the shipped, pre-checked one."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(document)
    except OpenAPIValidationError as exc:
        raise SpecError(f"{source}: not a valid OpenAPI document: {exc.message}") from None
