"""In-process unit tests of the pieces under the engine: Schedule, plan, Store, Dispatcher.

No HTTP server here; the Dispatcher's tests post to a real receiver on loopback.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from contextlib import closing
from dataclasses import replace

import pytest

from sandbox import versions
from sandbox.clock import ManualClock
from sandbox.config import Settings
from sandbox.dispatcher import Dispatcher, RetryPolicy, Schedule, Task
from sandbox.engine import Sandbox
from sandbox.lifecycle import DueEvent, Lifecycle
from sandbox.message import Origin
from sandbox.migrations import LATEST, MIGRATIONS
from sandbox.runtime import Runtime
from sandbox.scenarios import plan
from sandbox.spec import Spec
from sandbox.states import EventState
from sandbox.store import Query, Scope, Store, inbound_row, outbound_row
from sandbox.timeline import Timeline
from sandbox.transport import Transport
from sandbox.webhooks import WebhookBuilder

from .receiver import Behaviour
from .samples import VALID
from .test_resources import until

# Schedule ------------------------------------------------------------------------------


def test_schedule_gives_what_is_due_oldest_first_ties_in_order():
    schedule = Schedule()
    tasks = [Task(f"m{i}") for i in range(4)]
    schedule.add(20.0, "occur", tasks[0])
    schedule.add(10.0, "occur", tasks[1])
    schedule.add(10.0, "retry", tasks[2])
    schedule.add(30.0, "occur", tasks[3])
    assert schedule.next_due() == 10.0
    assert schedule.pop_due(9.9) == []
    assert schedule.pop_due(20.0) == [("occur", tasks[1]), ("retry", tasks[2]), ("occur", tasks[0])]
    assert schedule.next_due() == 30.0


def test_schedule_drops_cancelled_tasks():
    schedule = Schedule()
    kept, cancelled = Task("a"), Task("b", cancelled=True)
    schedule.add(2.0, "occur", cancelled)
    schedule.add(1.0, "occur", kept)
    schedule.discard_cancelled()
    assert schedule.tasks() == [kept]
    assert Schedule().next_due() is None


# plan ----------------------------------------------------------------------------------


def test_plan_places_steps_after_each_other_scaled_by_the_clock():
    steps = [{"status": "submitted", "after": 1}, {"status": "delivered", "after": 2}]
    events = plan(steps, 100.0, lambda s: s / 10, random.Random(1))
    assert [(e.position, e.kind, e.due_at) for e in events] == [
        (0, "status", 100.1),
        (1, "status", pytest.approx(100.3)),
    ]
    assert events[1].step == {"status": "delivered"}  # after/jitter are planning only


def test_plan_jitter_and_reply_seeds_repeat_with_the_same_generator():
    steps = [{"status": "read", "after": 1, "jitter": 5}, {"inbound": {"text": "hi"}}]
    first = plan(steps, 0.0, float, random.Random(7))
    again = plan(steps, 0.0, float, random.Random(7))
    assert first == again
    assert 1.0 <= first[0].due_at <= 6.0
    assert first[1].kind == "inbound" and isinstance(first[1].step["seed"], int)


# Store ---------------------------------------------------------------------------------


def journal_one(store: Store, api_key: str = "k", application_id: str | None = None) -> str:
    message = versions.v0_1.to_message(VALID["sms-text"])
    uuid = f"m-{store.count_messages()}"
    row = outbound_row(message, uuid, api_key, application_id, (202, {}), "trace")
    planned = plan([{"status": "submitted"}, {"status": "delivered"}], 0.0, float, random.Random())
    store.add_message(row, [vars(e) for e in planned])
    return uuid


def test_store_journals_a_message_with_its_events_scheduled():
    store = Store()
    uuid = journal_one(store)
    message = store.get_message(uuid)
    assert (message["channel"], message["to_addr"], message["client_ref"]) == (
        "sms",
        "447700900000",
        "order-42",
    )
    assert message["request"] == VALID["sms-text"]
    states = [(e["position"], e["status"], e["state"]) for e in store.events_for(uuid)]
    assert states == [(0, "submitted", "scheduled"), (1, "delivered", "scheduled")]
    assert [r["message_uuid"] for r in store.open_events()] == [uuid, uuid]


def test_store_event_updates_report_a_reset_message_as_gone():
    store = Store()
    uuid = journal_one(store)
    first, _ = store.events_for(uuid)
    assert store.occurred(first["id"], uuid, 1.0, "{}", "http://x/s", EventState.PENDING, "sub")
    assert store.get_message(uuid)["status"] == "sub"
    assert store.attempted(first["id"], "http://x/s", 2.0, 200, 1.0, None, EventState.DELIVERED)
    assert store.events_for(uuid)[0]["delivered_at"] == 2.0
    assert store.delete(Scope(api_key="k")) == [uuid]
    assert not store.occurred(first["id"], uuid, 3.0, "{}", None, EventState.UNSENT, None)
    assert not store.attempted(first["id"], "u", 3.0, 200, 1.0, None, EventState.DELIVERED)


def test_store_scope_filter_matches_api_key_or_application_id():
    store = Store()
    by_key = journal_one(store, api_key="a")
    by_app = journal_one(store, api_key=None, application_id="app")
    journal_one(store, api_key="other")
    store.add_message(inbound_row("in-1", "whatsapp", "447", "141", None, "a", None))
    found = store.find_messages(Query({"scope": ("a", "app")}))
    assert [m["uuid"] for m in found] == ["in-1", by_app, by_key]


def settle(store: Store, uuid: str) -> None:
    for event in store.events_for(uuid):
        store.occurred(event["id"], uuid, 1.0, "{}", None, EventState.UNSENT, None)


def test_store_retention_keeps_messages_with_open_events():
    store = Store(retention=10)
    uuids = [journal_one(store) for _ in range(100)]
    assert store.trim_due  # after TRIM_EVERY (100) messages; the accept path never trims
    assert store.count_messages() == 100
    assert store.trim() == 0  # every event is still scheduled: none may go
    assert not store.trim_due
    for uuid in uuids[:95]:
        settle(store, uuid)
    assert store.trim() == 90  # seq 1..90 are past the newest 10; all of them settled
    assert store.get_message(uuids[89]) is None
    assert store.get_message(uuids[90]) is not None
    assert store.count_messages() == 10


def test_store_trim_takes_the_events_and_attempts_of_what_it_drops():
    store = Store(retention=1)
    old, new = journal_one(store), journal_one(store)
    first = store.events_for(old)[0]["id"]
    store.occurred(first, old, 1.0, "{}", "http://x/s", EventState.PENDING, "submitted")
    store.attempted(first, "http://x/s", 2.0, 200, 1.0, None, EventState.DELIVERED)
    assert store.trim() == 0  # its second event is still scheduled
    settle(store, old)
    assert store.trim() == 1
    assert store.query("SELECT DISTINCT message_uuid FROM events") == [{"message_uuid": new}]
    assert store.query("SELECT * FROM attempts") == []
    assert Store(retention=None).trim() == 0  # unbounded: never trimmed


def test_the_worker_trims_messages_journaled_without_events():
    """A path that journals a message with no events (a scripted error answer, a v1 send
    journaled directly) still gets the journal trimmed: the store wakes the worker."""
    message = versions.v0_1.to_message(VALID["sms-text"])
    with Sandbox(Settings(journal_limit=100)) as sandbox:
        store = sandbox.store
        for i in range(250):
            store.add_message(outbound_row(message, f"m{i}", "k", None, (429, {}), "t"))
        assert until(lambda: store.get_message("m99") is None, store)  # trimmed at the 200th
        assert 100 <= store.count_messages() <= 100 + store.trim_every


def test_a_version_1_journal_file_is_upgraded_with_the_indexes(tmp_path):
    path = str(tmp_path / "v1.db")
    with closing(sqlite3.connect(path)) as db:
        db.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO messages (uuid, direction, received_at, request) "
            "VALUES ('kept', 'outbound', 1.0, '{}')"
        )
        db.commit()
    store = Store(path)
    assert store.query("PRAGMA user_version") == [{"user_version": LATEST}] and LATEST == 4
    indexes = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"events_state", "messages_workflow"} <= indexes
    columns = {r["name"] for r in store.query("PRAGMA table_info(messages)")}
    assert {"api_version", "workflow_id", "workflow_position", "sandbox_at"} <= columns
    attempt_columns = {r["name"] for r in store.query("PRAGMA table_info(attempts)")}
    assert {"request_headers", "response_headers", "response_body", "manual"} <= attempt_columns
    assert store.get_message("kept")["request"] == {}
    plan_rows = store.query(
        "EXPLAIN QUERY PLAN SELECT * FROM events WHERE state = 'scheduled' ORDER BY due_at"
    )
    assert "events_state" in " ".join(r["detail"] for r in plan_rows)
    store.close()


# Lifecycle: a batch of due events --------------------------------------------------------


def test_occur_batch_journals_many_events_in_one_transaction():
    spec = Spec.load()
    runtime = Runtime(Settings(status_url="http://127.0.0.1:9/s"))
    builder = WebhookBuilder(versions.renderers(spec), lambda: runtime.state)
    store, clock = Store(), ManualClock(start=1_000_000.0)
    lifecycle = Lifecycle(store, builder, clock)
    dues = [e for u in ("a", "b", "gone") for e in accept(lifecycle, u, ["submitted"], 0.0)]
    broken = replace(dues[0], kind="no-such-kind")
    store.query("DELETE FROM events WHERE message_uuid = 'gone'")  # reset meanwhile
    before = store.version
    deliveries = lifecycle.occur_batch([*dues[:2], dues[2]])
    assert store.version == before + 1  # one transaction for the whole batch
    assert [d.message_uuid if d else None for d in deliveries] == ["a", "b", None]
    assert json.loads(deliveries[0].body)["status"] == "submitted"
    assert [store.events_for(u)[0]["state"] for u in ("a", "b")] == ["pending", "pending"]
    assert store.get_message("a")["status"] == "submitted"
    assert lifecycle.occur_batch([broken]) == [None]  # journaled as invalid, not raised
    assert store.events_for("a")[0]["state"] == EventState.INVALID


def test_schedule_pops_at_most_a_batch():
    schedule = Schedule()
    for i in range(5):
        schedule.add(float(i), "occur", Task(f"m{i}"))
    assert [t.message_uuid for _, t in schedule.pop_due(10.0, limit=3)] == ["m0", "m1", "m2"]
    assert len(schedule.pop_due(10.0)) == 2


# Dispatcher ----------------------------------------------------------------------------


@pytest.fixture
def parts(receiver):
    """A store, lifecycle, dispatcher and timeline on a manual clock; webhooks to receiver."""
    spec = Spec.load()
    runtime = Runtime(Settings(status_url=receiver.url + "/s"))
    builder = WebhookBuilder(versions.renderers(spec), lambda: runtime.state)
    store, clock = Store(), ManualClock(start=1_000_000.0)
    lifecycle = Lifecycle(store, builder, clock)
    dispatcher = Dispatcher(lifecycle, clock, Transport(5.0), RetryPolicy(5, 900, 60), per_host=1)
    timeline = Timeline(clock, dispatcher)
    dispatcher.start()
    yield store, lifecycle, dispatcher, timeline
    dispatcher.stop()


def accept(lifecycle: Lifecycle, uuid: str, statuses: list[str], start: float) -> list[DueEvent]:
    message = versions.v0_1.to_message(VALID["sms-text"])
    row = outbound_row(message, uuid, "k", None, (202, {}), "t")
    steps = [{"status": s, "after": 1} for s in statuses]
    return lifecycle.accept(
        row, plan(steps, start, float, random.Random(1)), Origin.of(message, "k", None)
    )


def test_dispatcher_delivers_each_message_in_order_one_host_at_a_time(parts, receiver):
    store, lifecycle, dispatcher, timeline = parts
    now = timeline.clock.now()
    for uuid in ("one", "two"):
        dispatcher.schedule_events(accept(lifecycle, uuid, ["submitted", "delivered"], now))
    timeline.advance(5)
    got = [(r.json["message_uuid"], r.json["status"]) for r in receiver.on("/s")]
    assert [s for u, s in got if u == "one"] == ["submitted", "delivered"]
    assert [s for u, s in got if u == "two"] == ["submitted", "delivered"]
    assert {e["state"] for e in store.events_for("one")} == {EventState.DELIVERED}


def test_dispatcher_retries_a_refused_delivery_and_holds_the_next_behind_it(parts, receiver):
    store, lifecycle, dispatcher, timeline = parts
    receiver.answer(Behaviour(500))
    now = timeline.clock.now()
    dispatcher.schedule_events(accept(lifecycle, "m", ["submitted", "delivered"], now))
    timeline.advance(2)  # submitted refused once; delivered has occurred and waits
    assert [r.json["status"] for r in receiver.on("/s")] == ["submitted"]
    assert [e["state"] for e in store.events_for("m")] == ["pending", "pending"]
    timeline.advance(5)  # the retry after 5 s succeeds, then delivered goes
    assert [r.json["status"] for r in receiver.on("/s")] == ["submitted", "submitted", "delivered"]
    assert [len(store.attempts_for(e["id"])) for e in store.events_for("m")] == [2, 1]


def test_dispatcher_forgets_cancelled_messages(parts, receiver):
    store, lifecycle, dispatcher, timeline = parts
    now = timeline.clock.now()
    dispatcher.schedule_events(accept(lifecycle, "gone", ["submitted"], now))
    dispatcher.schedule_events(accept(lifecycle, "kept", ["submitted"], now))
    dispatcher.forget(["gone"])
    timeline.advance(5)
    assert [r.json["message_uuid"] for r in receiver.on("/s")] == ["kept"]
    assert store.events_for("gone")[0]["state"] == EventState.SCHEDULED


def test_accepts_wait_while_the_worker_is_behind_and_go_when_it_catches_up(receiver):
    spec = Spec.load()
    runtime = Runtime(Settings(status_url=receiver.url + "/s"))
    builder = WebhookBuilder(versions.renderers(spec), lambda: runtime.state)
    clock = ManualClock(start=1_000_000.0)
    lifecycle = Lifecycle(Store(), builder, clock)
    dispatcher = Dispatcher(lifecycle, clock, Transport(5.0))
    dispatcher.keep_pace()  # not running: never held
    dispatcher.running = True  # no worker thread: this test plays it
    dispatcher.schedule_events(accept(lifecycle, "m", ["submitted"], clock.now()))
    clock.set(clock.now() + 2)  # due after 1 s: now 1 s overdue
    assert dispatcher.behind()
    held = threading.Thread(target=dispatcher.keep_pace)
    held.start()
    held.join(0.3)
    assert held.is_alive()  # the send waits for the worker
    with dispatcher.cond:
        dispatcher.schedule.pop_due(clock.now())  # the worker took the due event
        dispatcher.cond.notify_all()
    held.join(0.5)
    assert not held.is_alive()
    assert not dispatcher.behind()
