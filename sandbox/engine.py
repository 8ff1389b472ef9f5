"""The Sandbox façade: accept a message, script its life, inject inbound ones. No HTTP here.

The web layer parses a request with its API version's adapter (``versions``) into a
neutral ``Message``, calls ``Sandbox.authenticate`` and ``Sandbox.send``, and renders what
comes back (an ``Answer``) or what is raised (a ``Problem``). Accepting a message journals
it with its planned events in one transaction (``Lifecycle.accept``) and hands the events
to the dispatcher; the answer never waits for a webhook.

The constructor only wires the parts; ``start()`` opens the journal, resumes what it left
undone and starts the dispatcher; ``close()`` stops both (``with Sandbox(s) as sandbox:``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import problems, versions
from .auth import Authenticator, Principal
from .clock import Clock, make_clock
from .config import WEBHOOK_VERSIONS, Application, Settings
from .customer_facts import Conversations
from .dispatcher import Dispatcher, RetryPolicy
from .ids import uuid_from
from .inspection import Inspector
from .lifecycle import Lifecycle, signer_for
from .message import Message, Origin
from .parties import fill_parties
from .problems import InvalidParameter, Problem, invalid_params
from .runtime import Runtime, RuntimeState, WebhookUrls
from .scenario_files import load_library
from .scenarios import Choice, Facts, Library, PlannedEvent, Script, plan
from .spec import Spec
from .store import Query, Scope, Store, inbound_row, outbound_row
from .timeline import Timeline
from .transport import Transport
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


FAILOVER_STATUSES = ("rejected",)  # the v1 document: "sent … if the primary message is rejected"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
WORKFLOW_ID_LENGTH = 55  # as the v1 document's WorkflowId example


@dataclass(frozen=True)
class Workflow:
    """A failover workflow: its id and how many messages it has."""

    workflow_id: str
    total: int

    def at(self, position: int) -> dict[str, str]:
        """What each status webhook of its ``position``-th message (1-based) carries."""
        return {
            "workflow_id": self.workflow_id,
            "items_number": str(position),
            "items_total": str(self.total),
        }


def fails_over_at(planned: Sequence[PlannedEvent]) -> float | None:
    """When the next message of a workflow goes: as this one's failing status occurs."""
    return next(
        (
            e.due_at
            for e in planned
            if e.kind == "status" and e.step.get("status") in FAILOVER_STATUSES
        ),
        None,
    )


class Randomness:
    """Ids, jitter and generated content: random, or from one seed so a run repeats itself."""

    def __init__(self, seed: int | None) -> None:
        self.seeded = seed is not None
        self._rng = random.Random(seed)
        # Unseeded, uuids come from a generator seeded once from the OS, not from
        # os.urandom per message (uuid4: ~70 µs a send on this VM, against ~2 µs).
        self._uuids = self._rng if self.seeded else random.Random()
        self._lock = threading.Lock()

    def message_uuid(self) -> str:
        with self._lock:
            return uuid_from(self._uuids)

    def workflow_id(self) -> str:
        """A failover workflow's id: base58, as long as the document's example."""
        rng = self.child()
        return "".join(rng.choice(BASE58) for _ in range(WORKFLOW_ID_LENGTH))

    def child(self) -> random.Random:
        """A generator of its own for one message, drawn from the main one in request order.

        (An unseeded ``random.Random()`` would read os.urandom each time: ~35 µs a message.)
        """
        with self._lock:
            return random.Random(self._rng.getrandbits(64))


class Sandbox:
    """One sandbox: spec, scenarios, run-time state, journal, clock and dispatcher."""

    def __init__(self, settings: Settings, spec: Spec | None = None) -> None:
        self.settings = settings
        self.spec = spec or Spec.load(settings.spec)
        self.parsers = versions.parsers(self.spec)  # by API version: the web layer's adapters
        self.runtime = Runtime(settings)
        self.conversations = Conversations()  # channel rules' state: windows, opt-outs
        self.authenticator = Authenticator(self.runtime.public_keys, settings.api_keys)
        self.library: Library = load_library(
            settings.scenarios, self.spec, versions.catalogues(self.spec)
        )
        self.store = Store(settings.db, retention=settings.journal_limit, connect=False)
        self.randomness = Randomness(settings.seed)
        self.clock: Clock = make_clock(settings.clock, settings.speed)
        self.webhooks = WebhookBuilder(versions.renderers(self.spec), lambda: self.runtime.state)
        self.transport = Transport(settings.webhook_timeout)
        self.lifecycle = Lifecycle(self.store, self.webhooks, self.clock)
        self.dispatcher = Dispatcher(
            self.lifecycle,
            self.clock,
            self.transport,
            RetryPolicy(settings.retry_base, settings.retry_cap, settings.retry_for),
            signer=signer_for(settings.signature_secret),
        )
        self.timeline = Timeline(self.clock, self.dispatcher)
        self.inspector = Inspector(self.store, self.timeline)
        self.started_at = time.time()  # reset by start(): the health check's uptime
        self._state = "new"

    # starting and stopping -------------------------------------------------------------

    def start(self) -> Sandbox:
        """Open the journal, resume what it left undone, start delivering. Once only."""
        if self._state != "new":
            raise RuntimeError(f"this sandbox was already started (it is {self._state})")
        self._state = "starting"
        self.started_at = time.time()
        self.store.open()
        self.restore()
        self.dispatcher.start()
        self._state = "running"
        return self

    def close(self) -> None:
        """Stop delivering (undelivered events stay journaled) and close the journal."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return
        self._state = "closed"
        self.dispatcher.stop()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def restore(self) -> None:
        """After a restart: schedule what had not occurred, deliver what had not arrived."""
        deliveries, due = self.lifecycle.open_events()
        # Before the dispatcher starts: pending deliveries are at the head of their chains,
        # so an overdue event that occurs at start queues behind them, in order.
        self.dispatcher.resume_deliveries(deliveries)
        self.dispatcher.schedule_events(due)
        if deliveries or due:
            log.info("resumed %d undelivered events from the journal", len(deliveries) + len(due))

    # sending ---------------------------------------------------------------------------

    def authenticate(self, header: str | None, query_credentials: bool = False) -> Principal:
        return self.authenticator.authenticate(header, query_credentials)

    def send(
        self, message: Message, principal: Principal, trace_id: str, scenario: str | None = None
    ) -> Answer:
        """Accept one message (already parsed and validated by its version's adapter).

        A message with failover messages is one workflow: each is accepted in turn, the
        next planned from the moment the one before it is ``rejected`` (FAILOVER_STATUSES),
        so the scenarios chosen for each decide how far the workflow goes.
        """
        self.dispatcher.keep_pace()
        selected = self.selection(self.runtime.state, principal, scenario)
        if not message.failover:
            return self.accept(message, principal, trace_id, selected, self.clock.now())[0]
        workflow = Workflow(self.randomness.workflow_id(), 1 + len(message.failover))
        answer, start = None, self.clock.now()
        for position, item in enumerate((message, *message.failover), 1):
            accepted, fails_at = self.accept(
                item, principal, trace_id, selected, start, workflow.at(position)
            )
            answer = answer or accepted
            if fails_at is None:
                break
            start = fails_at
        assert answer is not None
        return answer

    def accept(
        self,
        message: Message,
        principal: Principal,
        trace_id: str,
        selected: Sequence[str],
        start: float,
        workflow: dict[str, str] | None = None,
    ) -> tuple[Answer, float | None]:
        """Choose, answer, journal and schedule one message; (its answer, when it fails
        over: the due time of its ``rejected`` status, None if it does not)."""
        api_key, application_id = principal.api_key, principal.application_id
        conversation = (principal.name, message.channel, message.sender, message.to)
        facts = Facts.of(message, api_key, application_id)
        facts.values.update(self.conversations.facts(conversation, start))
        state = self.runtime.state
        choice = self.library.choose(facts, state.counters, selected, principal.name)
        message_uuid = self.randomness.message_uuid()
        answer = self.answer_for(choice, message_uuid, trace_id)
        if workflow and workflow["items_number"] == "1" and answer.status == 202:
            answer = replace(answer, body={**answer.body, "workflow_id": workflow["workflow_id"]})
        row = outbound_row(
            message,
            message_uuid,
            api_key,
            application_id,
            (answer.status, answer.body),
            trace_id,
            (choice.scenario, choice.rule) if choice else (None, None),
            (workflow["workflow_id"], int(workflow["items_number"])) if workflow else None,
        )
        steps = choice.script.steps if choice and answer.status == 202 else ()
        if workflow:
            steps = tuple(s if "inbound" in s else {**s, "workflow": workflow} for s in steps)
        planned = plan(steps, start, self.scripted_seconds, self.randomness.child())
        if answer.status == 202:
            self.conversations.sent(conversation)
        for event in planned:
            if event.kind == "inbound":  # a scripted reply: the customer writes then
                self.conversations.inbound(conversation, event.due_at, now=start)
        origin = Origin.of(message, api_key, application_id)
        self.dispatcher.schedule_events(self.lifecycle.accept(row, planned, origin))
        return answer, fails_over_at(planned)

    def update(self, message_uuid: str, body: Any, api_version: str, principal: Principal) -> str:
        """A client's update of a message (v1 PATCH: read, revoked); the status it set.

        The version's parser checks the body (before looking the message up, as the API
        reports a bad body first) and whether this message can take it. A revoked
        message's events that have not occurred are dropped: its lifecycle stops. Another
        account's message is not found, as in the API (each sees its own account's only).
        """
        parser = self.parsers[api_version]
        if not isinstance(parser, versions.MessageUpdater):
            raise message_not_found(message_uuid)  # this version has no PATCH
        status = parser.update_status(body)
        row = self.store.get_message(message_uuid)
        if row is None or not visible_to(principal, row):
            raise message_not_found(message_uuid)
        parser.check_update(body, row, status)
        if status == "revoked":
            self.dispatcher.forget([message_uuid])
            self.store.drop_scheduled(message_uuid)
        self.store.set_status(message_uuid, status)
        return status

    def scripted_seconds(self, seconds: float) -> float:
        """Scripted delay -> clock seconds (``--speed`` runs scripts faster)."""
        return seconds / self.clock.speed

    def selection(self, state: RuntimeState, principal: Principal, header: str | None) -> list[str]:
        """Scenarios chosen for this request: its header, then those selected by the admin API."""
        chosen = [name.strip() for name in (header or "").split(",") if name.strip()]
        unknown = [name for name in chosen if name not in self.library.scenarios]
        if unknown:
            raise unknown_scenarios(unknown, self.library.names, SCENARIO_HEADER)
        selected = state.selected
        return chosen + list(selected.get(principal.name, ())) + list(selected.get("", ()))

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
        webhook_version: str | None = None,
    ) -> str:
        """A customer's message to the business, delivered to the inbound webhook now.

        ``webhook_version`` is the shape it arrives in; by default the webhook version of
        the last message the business sent that customer on that channel, else v0.1.
        ``channel`` and ``content`` ({type, …}) are those that version's inbound webhooks
        have; ``content`` may leave out anything, which Faker fills; a missing customer or
        business gets its default. Raises a 400 Problem naming what is wrong.
        """
        customer, business = fill_parties(channel, customer, business)
        if webhook_version is None:
            webhook_version = self.conversation_version(channel, customer, business)
        self.check_inbound(channel, customer, business, content, webhook_version)
        rng = self.randomness.child()
        message_uuid = uuid_from(rng)
        step = {"inbound": content or {}, "seed": rng.getrandbits(63), "message_uuid": message_uuid}
        row = inbound_row(
            message_uuid,
            channel,
            customer,
            business,
            content,
            api_key,
            application_id,
            webhook_version,
        )
        origin = Origin(channel, customer, business, api_key, application_id, None, webhook_version)
        now = PlannedEvent(0, "inbound", step, self.clock.now())
        text = content.get("text") if isinstance(content, dict) else None
        conversation = (origin.scope, channel, business, customer)
        self.conversations.inbound(
            conversation, now.due_at, text if isinstance(text, str) else None
        )
        self.dispatcher.schedule_events(self.lifecycle.accept(row, [now], origin))
        return message_uuid

    def conversation_version(self, channel: Any, customer: Any, business: Any) -> str:
        """The webhook version of the last message ``business`` sent ``customer`` on
        ``channel`` (a reply arrives as the app expects its conversation), else v0.1."""
        if not all(isinstance(v, str) for v in (channel, customer, business)):
            return versions.DEFAULT_WEBHOOK_VERSION
        last = self.store.find_messages(
            Query(
                {
                    "direction": ("outbound",),
                    "channel": (channel,),
                    "to": (customer,),
                    "from": (business,),
                },
                limit=1,
            )
        )
        if not last:
            return versions.DEFAULT_WEBHOOK_VERSION
        row = last[0]
        message = versions.journaled_message(row["request"], row["api_version"])
        return self.webhooks.version_for(Origin.of(message, row["api_key"], row["application_id"]))

    def check_inbound(
        self, channel: Any, customer: Any, business: Any, content: Any, version: Any
    ) -> None:
        renderers = self.webhooks.renderers
        if version not in renderers:
            known = ", ".join(renderers)
            raise invalid_params(
                [InvalidParameter("webhook_version", f"must be one of {known}; got {version!r}")]
            )
        table = renderers[version].inbound_types()
        wrong = []
        if channel not in table:
            wrong.append(
                InvalidParameter(
                    "channel", f"must be one of {', '.join(table)} (webhook version {version})"
                )
            )
        for name, value in (("from", customer), ("to", business)):
            if not isinstance(value, str) or not value:
                wrong.append(InvalidParameter(name, "must be a number, or an id on messenger"))
        # an unknown channel: the types of any channel of the version
        types = table.get(channel) or tuple(dict.fromkeys(t for ts in table.values() for t in ts))
        if content is not None and not isinstance(content, dict):
            wrong.append(InvalidParameter("content", "must be an object"))
        elif content and content.get("type", "text") not in types:
            wrong.append(
                InvalidParameter(
                    "content.type", f"must be one of {', '.join(types)} on {channel} ({version})"
                )
            )
        if wrong:
            raise invalid_params(wrong)

    # the manual clock ------------------------------------------------------------------

    @property
    def manual_clock(self) -> bool:
        return self.timeline.manual

    def advance(self, seconds: float, timeout: float = 30.0) -> None:
        """Manual clock: move forward, stopping at each due time, delivering as it goes."""
        self.timeline.advance(seconds, timeout)

    # control (the admin API) ----------------------------------------------------------

    def reset(self, api_key: str | None = None, application_id: str | None = None) -> int:
        """Forget one scope's messages, events, counters, selections and webhook URLs (no
        scope: all of it, and the run-time state goes back to how the sandbox started)."""
        api_key, application_id = api_key or None, application_id or None  # "" is no scope
        forgotten = self.store.delete(Scope(api_key, application_id))
        everything = api_key is None and application_id is None
        self.dispatcher.forget(None if everything else forgotten)
        self.runtime.reset(None if everything else (application_id or api_key))
        self.conversations.reset(None if everything else (application_id or api_key))
        return len(forgotten)

    @property
    def applications(self) -> dict[str, Application]:
        return self.runtime.state.applications

    def set_application(
        self,
        application_id: str,
        status_url: str | None = None,
        inbound_url: str | None = None,
        public_key: str | None = None,
        webhook_version: str | None = None,
    ) -> Application:
        """Register or update an application (its webhooks, optionally its public key and
        the webhook version of its v1 messages that do not give one)."""
        if webhook_version is not None and webhook_version not in WEBHOOK_VERSIONS:
            reason = f"must be one of {', '.join(WEBHOOK_VERSIONS)}; got {webhook_version!r}"
            raise invalid_params([InvalidParameter("webhook_version", reason)])
        app = Application(application_id, public_key, status_url, inbound_url, webhook_version)
        self.runtime.put_application(app)
        return app

    def default_urls(self, scope: str = "") -> WebhookUrls:
        """The webhook URLs of a scope ('' = the defaults every other scope falls back to)."""
        state = self.runtime.state
        return state.urls_for(scope) if scope else state.defaults

    def set_default_urls(
        self, status_url: str | None, inbound_url: str | None, scope: str = ""
    ) -> None:
        """The default webhook URLs, or one scope's own (its messages' fallback)."""
        self.runtime.set_urls(WebhookUrls(status_url, inbound_url), scope)

    def select_scenarios(self, names: Sequence[str], scope: str = "") -> None:
        """Scenarios consulted first for this scope's messages ('' = every message)."""
        unknown = [name for name in names if name not in self.library.scenarios]
        if unknown:
            raise unknown_scenarios(unknown, self.library.names, "the selection")
        self.runtime.select(tuple(names), scope)

    @property
    def selected(self) -> dict[str, tuple[str, ...]]:
        return dict(self.runtime.state.selected)

    def listening_on(self, port: int) -> None:
        """The port this sandbox is served on: webhooks to its own sink skip HTTP."""
        self.transport.own_port = port


def visible_to(principal: Principal, row: dict[str, Any]) -> bool:
    """Whether a client sees a journaled message: one of its api key or application id (as
    the admin API's scopes match them), or one injected for no scope at all."""
    owners = {row.get("api_key"), row.get("application_id")} - {None}
    return not owners or bool(owners & {principal.api_key, principal.application_id})


def message_not_found(message_uuid: str) -> Problem:
    return problems.gateway(
        404, "not-found", "Not Found", f"There is no message with message_uuid {message_uuid}."
    )


def unknown_scenarios(unknown: Sequence[str], known: Sequence[str], where: str) -> Problem:
    return problems.gateway(
        400,
        "unknown-scenario",
        "Unknown scenario",
        f"{where} names {', '.join(map(repr, unknown))}; "
        f"the loaded scenarios are: {', '.join(known)}.",
    )
