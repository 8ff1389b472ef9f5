"""The one JSON serialisation the sandbox writes: compact, UTF-8, key order kept.

It is what JavaScript's ``JSON.stringify`` writes, so a receiver that re-serialises a
webhook body gets the same bytes (and the same signature hash).
"""

from __future__ import annotations

import json
from typing import Any


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def compact_json_bytes(value: Any) -> bytes:
    return compact_json(value).encode("utf-8")
