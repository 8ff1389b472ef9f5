"""The Sandbox façade: accept a message, script its life, inject inbound ones. No HTTP here.

The web layer parses a request, calls ``Sandbox.authenticate`` and ``Sandbox.send``, and
renders what comes back (an ``Answer``) or what is raised (a ``Problem``). Accepting a
message journals it with its planned events in one transaction and hands the events to
the dispatcher; the answer never waits for a webhook.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import problems
from .auth import Authenticator, Principal
from .clock import Clock, make_clock
from .config import Application, Settings
from .dispatcher import Dispatcher, Job, RetryPolicy
from .inspection import Inspector
from .problems import InvalidParameter, Problem, invalid_params
from .scenario_files import load_library
from .scenarios import Choice, Facts, Library, Script, plan
from .signing import signature_header
from .spec import Spec
from .store import Scope, Store
from .transport import Transport
from .validation import RequestValidator
from .webhooks import WebhookBuilder

log = logging.getLogger("sandbox.engine")

SCENARIO_HEADER = "X-Sandbox-Scenario"


@dataclass(frozen=True)
class Answer:
    """What the sandbox answers to a send: status, JSON body, headers, added latency."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    media_type: str = "application/json"


class Randomness:
    """Ids, jitter and generated content: random, or from one seed so a run repeats itself."""

    def __init__(self, seed: int | None) -> None:
        self.seeded = seed is not None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def message_uuid(self) -> str:
        if not self.seeded:
            return str(uuid.uuid4())
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def child(self) -> random.Random:
        """A generator of its own for one message, drawn from the main one in request order.

        (An unseeded ``random.Random()`` would read os.urandom each time: ~35 µs a message.)
        """
        with self._lock:
            return random.Random(self._rng.getrandbits(64))


class Sandbox:
    """One running sandbox: spec, validators, scenarios, journal, clock and dispatcher."""

    def __init__(self, settings: Settings, spec: Spec | None = None) -> None:
        self.settings = settings
        self.spec = spec or Spec.load(settings.spec)
        self.validator = RequestValidator(self.spec)
        self.authenticator = Authenticator(settings.applications, settings.api_keys)
        self.applications: dict[str, Application] = dict(settings.applications)
        self.library: Library = load_library(settings.scenarios, self.spec)
        self.selected: dict[str, tuple[str, ...]] = {}
        self.store = Store(settings.db, retention=settings.journal_limit)
        self.randomness = Randomness(settings.seed)
        self.clock: Clock = make_clock(settings.clock, settings.speed)
        self.webhooks = WebhookBuilder(
            self.spec, self.applications, settings.status_url, settings.inbound_url
        )
        self.transport = Transport(settings.webhook_timeout)
        self.dispatcher = Dispatcher(
            self.store,
            self.clock,
            self.transport,
            self.prepare,
            RetryPolicy(settings.retry_base, settings.retry_cap, settings.retry_for),
            signer=self.sign if settings.signature_secret else None,
        )
        self.inspector = Inspector(self.store, self.dispatcher)
        self.started_at = time.time()
        self.restore()
        self.dispatcher.start()

    # sending ---------------------------------------------------------------------------

    def authenticate(self, header: str | None, query_credentials: bool = False) -> Principal:
        return self.authenticator.authenticate(header, query_credentials)

    def send(
        self, body: Any, principal: Principal, trace_id: str, scenario: str | None = None
    ) -> Answer:
        """Validate and accept one message; raises a 400 Problem listing every violation."""
        violations = self.validator.violations(body)
        if violations:
            raise invalid_params(violations)
        facts = Facts.of(body, principal.api_key, principal.application_id)
        choice = self.library.choose(facts, self.selection(principal, scenario), principal.name)
        message_uuid = self.randomness.message_uuid()
        answer = self.answer_for(choice, message_uuid, trace_id)
        record = message_record(body, facts, message_uuid, answer, trace_id, choice)
        steps = choice.script.steps if choice and answer.status == 202 else ()
        events = plan(steps, self.clock.now(), self.scripted_seconds, self.randomness.child())
        ids = self.store.add_message(record, [vars(e) for e in events])
        context = outbound_context(body, facts)
        self.dispatcher.schedule_jobs(
            Job(i, message_uuid, e.position, e.kind, e.step, e.due_at, context)
            for i, e in zip(ids, events, strict=True)
        )
        return answer

    def scripted_seconds(self, seconds: float) -> float:
        """Scripted delay -> clock seconds (``--speed`` runs scripts faster)."""
        return seconds / self.clock.speed

    def selection(self, principal: Principal, header: str | None) -> list[str]:
        """Scenarios chosen for this request: its header, then those selected by the admin API."""
        chosen = [name.strip() for name in (header or "").split(",") if name.strip()]
        unknown = [name for name in chosen if name not in self.library.scenarios]
        if unknown:
            raise unknown_scenarios(unknown, self.library.names, SCENARIO_HEADER)
        return (
            chosen + list(self.selected.get(principal.name, ())) + list(self.selected.get("", ()))
        )

    def answer_for(self, choice: Choice | None, message_uuid: str, trace_id: str) -> Answer:
        """202 with the uuid, or the script's synchronous answer (e.g. 429 with Retry-After)."""
        script = choice.script if choice else Script()
        scripted = script.answer or {}
        delay = self.scripted_seconds(float(scripted.get("latency", 0)))
        status = int(scripted.get("status", 202))
        if status == 202:
            return Answer(202, {"message_uuid": message_uuid}, delay=delay)
        problem = problems.scripted(status, scripted.get("title"), scripted.get("detail"))
        headers = tuple((str(k), str(v)) for k, v in (scripted.get("headers") or {}).items())
        return Answer(
            status, problem.body(trace_id), headers, delay, media_type="application/problem+json"
        )

    # inbound ---------------------------------------------------------------------------

    def inbound(
        self,
        channel: Any,
        customer: Any,
        business: Any,
        content: Any = None,
        application_id: str | None = None,
        api_key: str | None = None,
    ) -> str:
        """A customer's message to the business, delivered to the inbound webhook now.

        ``channel`` is one the spec's InboundMessage allows; ``content`` ({type, …}) may
        leave out anything, which Faker fills. Raises a 400 Problem naming what is wrong.
        """
        self.check_inbound(channel, customer, business, content)
        rng = self.randomness.child()
        message_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        step = {"inbound": content or {}, "seed": rng.getrandbits(63), "message_uuid": message_uuid}
        now = self.clock.now()
        record = inbound_record(
            message_uuid, channel, customer, business, content, api_key, application_id
        )
        (event_id,) = self.store.add_message(
            record, [{"position": 0, "kind": "inbound", "step": step, "due_at": now}]
        )
        context = inbound_context(channel, customer, business, api_key, application_id)
        self.dispatcher.schedule_jobs(
            [Job(event_id, message_uuid, 0, "inbound", step, now, context)]
        )
        return message_uuid

    def check_inbound(self, channel: Any, customer: Any, business: Any, content: Any) -> None:
        channels = self.spec.enum("InboundMessage", "to", "type")
        types = self.spec.enum("InboundMessage", "message", "content", "type")
        wrong = []
        if channel not in channels:
            wrong.append(InvalidParameter("channel", f"must be one of {', '.join(channels)}"))
        for name, value in (("from", customer), ("to", business)):
            if not isinstance(value, str) or not value:
                wrong.append(InvalidParameter(name, "is required: a number, or an id on messenger"))
        if content is not None and not isinstance(content, dict):
            wrong.append(InvalidParameter("content", "must be an object"))
        elif content and content.get("type", "text") not in types:
            wrong.append(InvalidParameter("content.type", f"must be one of {', '.join(types)}"))
        if wrong:
            raise invalid_params(wrong)

    # what the dispatcher asks of us ----------------------------------------------------

    def prepare(self, job: Job) -> bool:
        """The event occurs now: build, check and journal its payload; True if it is to be sent."""
        when = self.clock.now()
        try:
            webhook = self.webhooks.build(job, when)
        except Exception as exc:  # a scenario or sandbox bug: journaled, the rest goes on
            log.exception("event %s of %s could not be built", job.event_id, job.message_uuid)
            self.store.invalid(job.event_id, when, "", f"{type(exc).__name__}: {exc}")
            return False
        text = webhook.body.decode("utf-8")
        if webhook.problem:
            log.error("BUG: event %s payload fails the spec: %s", job.event_id, webhook.problem)
            self.store.invalid(job.event_id, when, text, webhook.problem)
            return False
        state = "pending" if webhook.url else "unsent"
        status = job.step.get("status") if job.kind == "status" else None
        if not self.store.occurred(
            job.event_id, job.message_uuid, when, text, webhook.url, state, status
        ):
            return False  # its message was reset meanwhile: nothing to send
        job.url, job.body = webhook.url, webhook.body
        return webhook.url is not None

    def sign(self, job: Job, body: bytes) -> dict[str, str]:
        return signature_header(
            self.settings.signature_secret or "",
            body,
            job.context.get("api_key"),
            job.context.get("application_id"),
        )

    def restore(self) -> None:
        """After a restart: schedule what had not occurred, deliver what had not arrived."""
        open_events = self.store.open_events()
        jobs = [job_from_row(row) for row in open_events]
        # Before the dispatcher starts: pending deliveries are at the head of their chains,
        # so an overdue event that occurs at start queues behind them, in order.
        self.dispatcher.resume_deliveries(
            sorted((j for j in jobs if j.body is not None), key=lambda j: j.position)
        )
        self.dispatcher.schedule_jobs(j for j in jobs if j.body is None)
        if open_events:
            log.info("resumed %d undelivered events from the journal", len(open_events))

    # control (the admin API) ----------------------------------------------------------

    def reset(self, api_key: str | None = None, application_id: str | None = None) -> int:
        """Forget one scope's messages, events, counters and selections (no scope: all of it,
        and applications and default URLs go back to how the sandbox started)."""
        api_key, application_id = api_key or None, application_id or None  # "" is no scope
        scope = Scope(api_key, application_id)
        forgotten = self.store.delete(scope)
        everything = api_key is None and application_id is None
        self.dispatcher.forget(None if everything else forgotten)
        name = application_id or api_key
        self.library.counters.reset(None if everything else name)
        if everything:
            self.selected.clear()
            self.restore_configuration()
        else:
            self.selected.pop(name or "", None)
        return len(forgotten)

    def restore_configuration(self) -> None:
        self.applications.clear()
        self.applications.update(self.settings.applications)
        self.authenticator.set_keys(self.settings.applications)
        self.webhooks.status_url = self.settings.status_url
        self.webhooks.inbound_url = self.settings.inbound_url

    def set_application(
        self,
        application_id: str,
        status_url: str | None = None,
        inbound_url: str | None = None,
        public_key: str | None = None,
    ) -> Application:
        """Register or update an application (its webhooks and, optionally, its public key)."""
        app = Application(application_id, public_key, status_url, inbound_url)
        self.authenticator.set_keys({**self.applications, application_id: app})
        self.applications[application_id] = app
        return app

    def set_default_urls(self, status_url: str | None, inbound_url: str | None) -> None:
        self.webhooks.status_url, self.webhooks.inbound_url = status_url, inbound_url

    def select_scenarios(self, names: Sequence[str], scope: str = "") -> None:
        """Scenarios consulted first for this scope's messages ('' = every message)."""
        unknown = [name for name in names if name not in self.library.scenarios]
        if unknown:
            raise unknown_scenarios(unknown, self.library.names, "the selection")
        self.selected[scope] = tuple(names)

    def listening_on(self, port: int) -> None:
        """The port this sandbox is served on: webhooks to its own sink skip HTTP."""
        self.transport.own_port = port

    def close(self) -> None:
        self.dispatcher.stop()
        self.store.close()


def unknown_scenarios(unknown: Sequence[str], known: Sequence[str], where: str) -> Problem:
    return problems.gateway(
        400,
        "unknown-scenario",
        "Unknown scenario",
        f"{where} names {', '.join(map(repr, unknown))}; "
        f"the loaded scenarios are: {', '.join(known)}.",
    )


def message_record(
    body: dict[str, Any],
    facts: Facts,
    message_uuid: str,
    answer: Answer,
    trace_id: str,
    choice: Choice | None,
) -> dict[str, Any]:
    """The journal row of an outbound message (accepted, or answered by a scenario)."""
    return {
        "uuid": message_uuid,
        "direction": "outbound",
        "received_at": time.time(),
        "api_key": facts.get("api_key"),
        "application_id": facts.get("application_id"),
        "channel": facts.get("channel"),
        "to_addr": facts.get("to"),
        "from_addr": facts.get("from"),
        "client_ref": facts.get("client_ref"),
        "request": body,
        "response_status": answer.status,
        "response_body": answer.body,
        "scenario": choice.scenario if choice else None,
        "rule": choice.rule if choice else None,
        "trace_id": trace_id,
    }


def inbound_record(
    message_uuid: str,
    channel: str,
    customer: str,
    business: str,
    content: Any,
    api_key: str | None,
    application_id: str | None,
) -> dict[str, Any]:
    """The journal row of an injected inbound message (its 'request' is what was injected)."""
    return {
        "uuid": message_uuid,
        "direction": "inbound",
        "received_at": time.time(),
        "api_key": api_key,
        "application_id": application_id,
        "channel": channel,
        "to_addr": business,
        "from_addr": customer,
        "request": {"channel": channel, "from": customer, "to": business, "content": content},
    }


def outbound_context(body: dict[str, Any], facts: Facts) -> dict[str, Any]:
    """What an outbound message's events need: the request; for replies, who is who."""
    return {
        "request": body,
        "channel": facts.get("channel"),
        "customer": facts.get("to"),
        "business": facts.get("from"),
        "api_key": facts.get("api_key"),
        "application_id": facts.get("application_id"),
    }


def inbound_context(
    channel: str, customer: str, business: str, api_key: str | None, application_id: str | None
) -> dict[str, Any]:
    return {
        "request": {},
        "channel": channel,
        "customer": customer,
        "business": business,
        "api_key": api_key,
        "application_id": application_id,
    }


def job_from_row(row: dict[str, Any]) -> Job:
    """A journaled event back into a Job (after a restart)."""
    request = json.loads(row["request"]) if row.get("request") else {}
    if row["direction"] == "inbound":
        context = inbound_context(
            request["channel"],
            request["from"],
            request["to"],
            row["api_key"],
            row["application_id"],
        )
    else:
        facts = Facts.of(request, row["api_key"], row["application_id"])
        context = outbound_context(request, facts)
    job = Job(
        row["id"],
        row["message_uuid"],
        row["position"],
        row["kind"],
        json.loads(row["step"]),
        row["due_at"],
        context,
    )
    if row["state"] == "pending" and row["payload"]:
        job.url, job.body = row["url"], row["payload"].encode("utf-8")
        job.attempts, job.first_attempt_at = row["attempts"], row["first_attempt_at"]
    return job
