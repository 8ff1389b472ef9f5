"""Messages API v1 on top of the engine: parse with the v1 document, accept, update.

This is the v1 adapter's one connection to the core. ``accept`` is the small function the
integrator swaps for ``Sandbox.send(message, …)`` once v1 webhooks render (issue #13):
until then it journals the message and answers with the scenario chosen for it, and
schedules no webhooks.
The v1 document (0.3 s to parse) and a scenario library whose magic recipients come from
its ``x-errors`` catalogue are built on the first v1 request, not at start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from .auth import Principal
from .engine import Answer, Sandbox
from .error_table import markdown
from .message import Message
from .problems import InvalidParameter, Problem, gateway
from .scenario_files import load_library
from .scenarios import Facts, Library
from .store import outbound_row
from .versions.v1 import V1Parser
from .versions.v1_document import V1Document, load_v1
from .versions.v1_errors import V1Errors

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
WORKFLOW_ID_LENGTH = 55  # as the document's WorkflowId example
REVOCABLE = (None, "submitted", "rejected", "undeliverable")  # not delivered, not read


@dataclass(frozen=True)
class V1Parts:
    """What v1 needs, built together on first use."""

    document: V1Document
    errors: V1Errors
    parser: V1Parser
    library: Library  # the scenarios, with magic recipients from v1's x-errors


class V1Api:
    """Messages API v1 for one Sandbox: send and update, errors in v1's shapes."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._parts: V1Parts | None = None

    @property
    def parts(self) -> V1Parts:
        with self._lock:
            if self._parts is None:
                document = load_v1()
                errors = V1Errors(document)
                library = load_library(
                    self.sandbox.settings.scenarios, self.sandbox.spec, document.errors
                )
                self._parts = V1Parts(document, errors, V1Parser(document, errors), library)
            return self._parts

    def error_table(self) -> str:
        """The v1 x-errors codes with their magic recipients (for ``errors --api v1``)."""
        return markdown(self.parts.library, self.parts.document.spec)

    @property
    def errors(self) -> V1Errors:
        return self.parts.errors

    def send(self, body: Any, principal: Principal, trace_id: str, scenario: str | None) -> Answer:
        """Validate and accept one v1 send; raises the document's 422 for a bad body."""
        message = self.parts.parser.message(body)
        return self.accept(message, principal, trace_id, scenario)

    def accept(
        self, message: Message, principal: Principal, trace_id: str, scenario: str | None
    ) -> Answer:
        """Journal ``message`` with the scenario chosen for it; 202 or the scripted answer.

        Sandbox.send without the events: the same choice and answer, over the library whose
        magic recipients come from v1's x-errors. Once v1 webhooks render (#13) and the
        library knows each version's catalogue, this becomes ``Sandbox.send``.
        """
        engine, library = self.sandbox, self.parts.library
        api_key, application_id = principal.api_key, principal.application_id
        state = engine.runtime.state
        selected = engine.selection(state, principal, scenario)
        facts = Facts.of(message, api_key, application_id)
        choice = library.choose(facts, state.counters, selected, principal.name)
        message_uuid = engine.randomness.message_uuid()
        answer = engine.answer_for(choice, message_uuid, trace_id)
        if answer.status == 202 and message.failover:
            answer = replace(answer, body={**answer.body, "workflow_id": self.workflow_id()})
        chosen = (choice.scenario, choice.rule) if choice else (None, None)
        response = (answer.status, answer.body)
        engine.store.add_message(
            outbound_row(message, message_uuid, api_key, application_id, response, trace_id, chosen)
        )
        return answer

    def workflow_id(self) -> str:
        rng = self.sandbox.randomness.child()
        return "".join(rng.choice(BASE58) for _ in range(WORKFLOW_ID_LENGTH))

    def update(self, message_uuid: str, body: Any) -> None:
        """PATCH: mark an inbound message read, or revoke an undelivered outbound RCS one."""
        errors, parser = self.parts.errors, self.parts.parser
        status = parser.update_status(body)  # a bad body is reported before a missing message
        row = self.sandbox.store.get_message(message_uuid)
        if row is None:
            raise message_not_found(message_uuid)
        parser.check_update(body, row["channel"])
        problem = update_refusal(row, status, errors)
        if problem:
            raise problem
        self.sandbox.store.set_status(message_uuid, status)


def update_refusal(row: dict[str, Any], status: str, errors: V1Errors) -> Problem | None:
    """Why this message cannot take ``status`` (None if it can), as the document's 422."""
    if status == "read" and row["direction"] != "inbound":
        reason = "can be set to read on an inbound message only; this one is outbound"
    elif status == "revoked" and row["direction"] != "outbound":
        reason = "can be set to revoked on an outbound message only; this one is inbound"
    elif status == "revoked" and row["status"] not in REVOCABLE:
        reason = f"cannot be revoked: the message was already {row['status']}"
    else:
        return None
    return errors.problem("message_params", [InvalidParameter("status", reason)])


def message_not_found(message_uuid: str) -> Problem:
    return gateway(
        404, "not-found", "Not Found", f"There is no message with message_uuid {message_uuid}."
    )
