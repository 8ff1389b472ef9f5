"""Where the shipped data (the OpenAPI document, built-in scenarios) lives.

An installed wheel carries it in ``sandbox/_data``; a source checkout (or an editable
install) reads the top-level ``spec/`` and ``scenarios/`` directories directly.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory ``spec`` or ``scenarios``, wherever this copy of the package keeps it."""
    packaged = _PACKAGE / "_data" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
