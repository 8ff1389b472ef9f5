"""The placeholder vocabulary of scenario files: ``{{faker.…}}``, ``{{message.text}}``, ….

Defined once: scenario checks ask ``is_known``; webhook building fills them with ``fill``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
MESSAGE_PLACEHOLDERS = ("message.text", "message.content_type", "to", "from")
FAKER_PREFIX = "faker."


def names_in(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def faker_method(name: str) -> str | None:
    """The Faker method a ``faker.x`` placeholder calls (None for the others)."""
    return name.removeprefix(FAKER_PREFIX) if name.startswith(FAKER_PREFIX) else None


def fill(value: Any, resolve: Callable[[str], Any]) -> Any:
    """``value`` with every placeholder inside its strings replaced by ``resolve(name)``."""
    if isinstance(value, dict):
        return {k: fill(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, resolve) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    return PLACEHOLDER.sub(lambda m: str(resolve(m.group(1))), value)


def unknown(name: str) -> KeyError:
    return KeyError(f"unknown placeholder {{{{{name}}}}}")
