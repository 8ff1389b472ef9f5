"""The Sandbox façade: authenticate, accept a message, journal it. Knows nothing of HTTP.

The web layer parses a request, calls ``Sandbox.authenticate`` and ``Sandbox.send``, and
renders what comes back (an ``Answer``) or what is raised (a ``Problem``).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .auth import Authenticator, Principal
from .channels import pick
from .config import Settings
from .problems import invalid_params
from .spec import Spec
from .store import Store
from .validation import RequestValidator


@dataclass(frozen=True)
class Answer:
    """What the sandbox answers to a send: status, JSON body, extra headers, added latency."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


@dataclass
class IdSource:
    """Message UUIDs: random, or from a seeded generator so a seeded run repeats itself."""

    seed: int | None = None
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def message_uuid(self) -> str:
        if self.seed is None:
            return str(uuid.uuid4())
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def address(side: Any) -> str | None:
    """The number or id of a to/from object, whichever the message used."""
    if not isinstance(side, dict):
        return None
    value = side.get("number", side.get("id"))
    return value if isinstance(value, str) else None


class Sandbox:
    """One running sandbox: its settings, spec, validators, journal."""

    def __init__(self, settings: Settings, spec: Spec | None = None) -> None:
        self.settings = settings
        self.spec = spec or Spec.load(settings.spec)
        self.validator = RequestValidator(self.spec)
        self.authenticator = Authenticator(settings.applications, settings.api_keys)
        self.store = Store(settings.db, retention=settings.journal_limit)
        self.ids = IdSource(settings.seed)
        self.started_at = time.time()

    def authenticate(self, header: str | None, query_credentials: bool = False) -> Principal:
        return self.authenticator.authenticate(header, query_credentials)

    def send(self, body: Any, principal: Principal, trace_id: str) -> Answer:
        """Validate and accept one message; raises a 400 Problem listing every violation."""
        violations = self.validator.violations(body)
        if violations:
            raise invalid_params(violations)
        message_uuid = self.ids.message_uuid()
        answer = Answer(202, {"message_uuid": message_uuid})
        self.store.add_message(message_record(body, principal, message_uuid, answer, trace_id))
        return answer

    def close(self) -> None:
        self.store.close()


def message_record(
    body: dict[str, Any], principal: Principal, message_uuid: str, answer: Answer, trace_id: str
) -> dict[str, Any]:
    """The journal row of an accepted outbound message."""
    return {
        "uuid": message_uuid,
        "direction": "outbound",
        "received_at": time.time(),
        "api_key": principal.api_key,
        "application_id": principal.application_id,
        "channel": pick(body, "to.type", str),
        "to_addr": address(body.get("to")),
        "from_addr": address(body.get("from")),
        "client_ref": pick(body, "client_ref", str),
        "request": body,
        "response_status": answer.status,
        "response_body": answer.body,
        "status": None,
        "trace_id": trace_id,
    }
