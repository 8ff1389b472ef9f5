"""Scenarios over real HTTP: magic recipients, stateful rules, replies, selection, checks."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from sandbox.spec import Spec

from .samples import VALID, message
from .tokens import bearer

SPEC = Spec.load()
UNDELIVERABLE = {
    1180,
    1190,
    1200,
    1210,
    1230,
    1250,
    1260,
    1270,
    1280,
    1290,
    1300,
    1310,
    1330,
    1331,
    1360,
}


def statuses(receiver, message_uuid: str) -> list[dict]:
    return [r.json for r in receiver.on("/status") if r.json["message_uuid"] == message_uuid]


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_every_x_errors_code_has_a_magic_recipient(manual, receiver):
    sent = {}
    for code in SPEC.errors:
        channel_sample = "messenger-text" if code % 20 == 0 else "sms-text"
        field = "to__id" if channel_sample == "messenger-text" else "to__number"
        body = message(channel_sample, **{field: f"1555000{code}"})
        sent[code] = manual.send(body).json()["message_uuid"]
    manual.sandbox.advance(10)

    for code, message_uuid in sent.items():
        payloads = statuses(receiver, message_uuid)
        expected = (
            "submitted"
            if code == 1220
            else "undeliverable"
            if code in UNDELIVERABLE
            else "rejected"
        )
        assert [p["status"] for p in payloads] == ["submitted", expected], code
        assert payloads[-1]["error"] == {"code": code, "reason": SPEC.errors[code].title}
        assert "error" not in payloads[0]


def test_ttl_activated_is_not_charged(manual, receiver):
    charged = manual.send(message("sms-text", to__number="15550001300")).json()["message_uuid"]
    free = manual.send(message("sms-text", to__number="15550001360")).json()["message_uuid"]
    manual.sandbox.advance(10)
    assert "usage" in statuses(receiver, charged)[0]
    assert "usage" not in statuses(receiver, free)[0]


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, "1"), (500, None), (503, "1"), (400, None)]
)
def test_magic_http_status_answers_the_post_itself(manual, receiver, status, retry_after):
    response = manual.send(message("whatsapp-text", to__number=f"15550000{status}"))
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers.get("Retry-After") == retry_after
    body = response.json()
    assert set(body) == {"type", "title", "detail", "instance"}
    assert body["instance"] == response.headers["X-Nexmo-Trace-Id"]
    (record,) = manual.sandbox.store.query(
        "SELECT uuid, response_status, scenario, rule FROM messages WHERE trace_id = ?",
        (body["instance"],),
    )
    assert (record["response_status"], record["scenario"], record["rule"]) == (
        status,
        "http-errors",
        str(status),
    )
    manual.sandbox.advance(30)
    assert manual.sandbox.store.events_for(record["uuid"]) == []
    assert receiver.received == []


def test_conversational_recipient_replies_after_delivery(manual, receiver):
    body = message("whatsapp-text", to__number="15550009000", message__content__text="Table for 2?")
    message_uuid = manual.send(body).json()["message_uuid"]
    manual.sandbox.advance(30)

    assert [p["status"] for p in statuses(receiver, message_uuid)] == [
        "submitted",
        "delivered",
        "read",
    ]
    (reply,) = receiver.on("/inbound")
    assert reply.json["message"]["content"] == {"type": "text", "text": "You said: Table for 2?"}
    assert reply.json["from"] == {"type": "whatsapp", "number": "15550009000"}
    assert reply.json["to"] == body["from"]
    last_status = statuses(receiver, message_uuid)[-1]
    assert reply.json["timestamp"] > last_status["timestamp"]
    assert reply.at >= receiver.on("/status")[-1].at
    listed = manual.get("/_sandbox/messages", params={"direction": "inbound"}).json()["items"]
    assert [(m["message_uuid"], m["from"], m["to"]) for m in listed] == [
        (reply.json["message_uuid"], "15550009000", body["from"]["number"])
    ]
    assert listed[0]["api_key"] == "key1"  # in the scope of the message it answers


def test_conversational_recipient_thanks_for_media_and_mms_sends_a_picture(manual, receiver):
    manual.send(message("messenger-image", to__id="15550009000"))
    manual.send(message("mms-image", to__number="15550009000"))
    manual.sandbox.advance(30)
    replies = {
        r.json["from"]["type"]: r.json["message"]["content"] for r in receiver.on("/inbound")
    }
    assert replies["messenger"] == {"type": "text", "text": "Thanks for the image!"}
    assert replies["mms"]["type"] == "image" and replies["mms"]["image"]["url"].endswith(".jpg")


def test_recipient_that_never_reads(manual, receiver):
    message_uuid = manual.send(message("messenger-text", to__id="15550009001")).json()[
        "message_uuid"
    ]
    manual.sandbox.advance(60)
    assert [p["status"] for p in statuses(receiver, message_uuid)] == ["submitted", "delivered"]


STATEFUL = """
name: flaky
rules:
  - name: fails-twice-then-works
    match: {to: {prefix: "4477009001"}}
    scripts:
      - times: 2
        script:
          - {status: submitted, after: 0.5}
          - {status: undeliverable, error: 1180, after: 1}
      - script:
          - {status: submitted, after: 0.5}
          - {status: delivered, after: 1}
"""


def test_stateful_rule_switches_scripts_per_recipient(start_sandbox, receiver, tmp_path):
    path = write(tmp_path, "flaky.yaml", STATEFUL)
    client = start_sandbox(clock="manual", status_url=receiver.url + "/status", scenarios=(path,))
    first = [
        client.send(message("sms-text", to__number="447700900101")).json()["message_uuid"]
        for _ in range(3)
    ]
    other = client.send(message("sms-text", to__number="447700900102")).json()["message_uuid"]
    client.sandbox.advance(10)

    finals = [statuses(receiver, u)[-1]["status"] for u in first]
    assert finals == ["undeliverable", "undeliverable", "delivered"]
    assert statuses(receiver, other)[-1]["status"] == "undeliverable"  # its own count
    record = client.sandbox.store.get_message(first[0])
    assert (record["scenario"], record["rule"]) == ("flaky", "fails-twice-then-works")


MATCHING = """
name: matching
rules:
  - name: by-text
    match: {text: {pattern: "(?i)\\\\bstop\\\\b"}}
    script: [{status: rejected, error: 1240}]
  - name: by-ref-and-key
    match: {client_ref: [vip-1, vip-2], api_key: key1}
    script: [{status: delivered}]
  - name: by-from-and-type
    match: {from: {pattern: "^1415"}, content_type: template}
    script: [{status: read}]
  - name: by-application
    match: {application_id: app-9}
    script: [{status: undeliverable, error: {code: 1999, reason: Custom reason}}]
  - name: slow
    match: {to: "447700900555"}
    answer: {latency: 0.3}
    script: [{status: submitted}]
"""


def test_match_conditions_and_first_match_wins(start_sandbox, receiver, tmp_path):
    path = write(tmp_path, "matching.yaml", MATCHING)
    client = start_sandbox(clock="manual", status_url=receiver.url + "/status", scenarios=(path,))
    sends = {
        "text": message("sms-text", message__content__text="Please STOP now"),
        "ref": message("sms-text", client_ref="vip-2"),
        "template": VALID["whatsapp-template"],
        "plain": VALID["whatsapp-text"],
    }
    uuids = {k: client.send(v).json()["message_uuid"] for k, v in sends.items()}
    uuids["app"] = client.send(VALID["viber-text"], bearer("app-9")).json()["message_uuid"]
    started = time.perf_counter()
    assert client.send(message("sms-text", to__number="447700900555")).status_code == 202
    assert time.perf_counter() - started >= 0.3
    client.sandbox.advance(10)

    first = {k: statuses(receiver, u)[0] for k, u in uuids.items()}
    assert first["text"]["error"]["code"] == 1240
    assert first["ref"]["status"] == "delivered"
    assert first["template"]["status"] == "read"
    assert first["plain"]["status"] == "submitted"  # no rule: the default lifecycle
    assert first["app"]["error"] == {"code": 1999, "reason": "Custom reason"}


def test_user_rules_come_before_built_in_magic_numbers(start_sandbox, receiver, tmp_path):
    path = write(
        tmp_path,
        "override.yaml",
        "rules:\n  - match: {to: '15550001300'}\n    script: [{status: delivered}]\n",
    )
    client = start_sandbox(clock="manual", status_url=receiver.url + "/status", scenarios=(path,))
    message_uuid = client.send(message("sms-text", to__number="15550001300")).json()["message_uuid"]
    client.sandbox.advance(5)
    assert [p["status"] for p in statuses(receiver, message_uuid)] == ["delivered"]
    assert client.sandbox.store.get_message(message_uuid)["scenario"] == "override"


def test_header_selects_an_on_request_scenario(manual, receiver):
    plain = manual.send(VALID["whatsapp-text"]).json()["message_uuid"]
    chosen = manual.send(
        VALID["whatsapp-text"], headers={"X-Sandbox-Scenario": "whatsapp-window"}
    ).json()["message_uuid"]
    template = manual.send(
        VALID["whatsapp-template"], headers={"X-Sandbox-Scenario": "whatsapp-window"}
    ).json()["message_uuid"]
    manual.sandbox.advance(60)
    assert statuses(receiver, plain)[-1]["status"] == "read"
    assert statuses(receiver, chosen)[-1]["error"] == {
        "code": 1340,
        "reason": "Outside of the allowed window",
    }
    assert statuses(receiver, template)[-1]["status"] == "read"


def test_unknown_scenario_header_is_400(manual):
    response = manual.send(VALID["sms-text"], headers={"X-Sandbox-Scenario": "nope"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("#unknown-scenario")
    assert "'nope'" in response.json()["detail"] and "whatsapp-window" in response.json()["detail"]


def test_same_seed_same_jitter_and_replies(start_sandbox, receiver):
    runs = []
    for run in range(2):
        client = start_sandbox(clock="manual", seed=42, inbound_url=receiver.url + f"/in{run}")
        uuids = [client.send(VALID["whatsapp-text"]).json()["message_uuid"] for _ in range(3)]
        reply_to = client.send(message("messenger-text", to__id="15550009000")).json()[
            "message_uuid"
        ]
        start = client.sandbox.store.get_message(uuids[0])["received_at"]
        offsets = [
            round(e["due_at"] - client.sandbox.clock.now(), 6)
            for u in uuids
            for e in client.sandbox.store.events_for(u)
        ]
        client.sandbox.advance(30)
        reply = receiver.wait_for(1, f"/in{run}")[0].json
        runs.append((uuids, reply_to, offsets, reply["message_uuid"], reply["message"]))
        assert start
    assert runs[0] == runs[1]


# checking files -------------------------------------------------------------------------

BAD_FILES = {
    "yaml.yaml": ("rules:\n  - match: {to: [1, 2\n", ":3: not valid YAML"),
    "key.yaml": (
        "rules:\n  - name: a\n    mtach: {to: '1'}\n",
        ":2: rules[0]: Additional properties are not allowed ('mtach' was unexpected)",
    ),
    "status.yaml": (
        "rules:\n  - script:\n      - {status: sent}\n",
        ":3: rules[0].script[0].status: 'sent' is not one of",
    ),
    "channel.yaml": (
        "rules:\n  - match:\n      channel: telegram\n    script: []\n",
        ":3: rules[0].match.channel: 'telegram' is not one of",
    ),
    "regex.yaml": (
        "rules:\n  - match:\n      text: {pattern: '(unclosed'}\n",
        ":3: rules[0].match.text.pattern: not a valid regular expression",
    ),
    "code.yaml": (
        "rules:\n  - script:\n      - {status: rejected, error: 1999}\n",
        ":3: rules[0].script[0].error: "
        "1999 is not an x-errors code of the spec; give a reason with it",
    ),
    "placeholder.yaml": (
        "rules:\n  - script:\n      - inbound: {text: 'hi {{nobody}}'}\n",
        ":3: rules[0].script[0].inbound.text: unknown placeholder {{nobody}}",
    ),
    "stages.yaml": (
        "rules:\n  - scripts:\n      - script: []\n      - script: []\n",
        ":3: rules[0].scripts[0]: needs 'times' (only the last stage may omit it)",
    ),
    "answer.yaml": (
        "rules:\n  - answer: {status: 302}\n",
        ":2: rules[0].answer.status: "
        "302 is not valid: must be 202, or an error status from 400 to 599",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_scenarios_check_reports_file_line_and_key_path(tmp_path, name):
    text, expected = BAD_FILES[name]
    path = write(tmp_path, name, text)
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "scenarios", "check", path],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{path}{expected}" in result.stderr, result.stderr


def test_duplicate_names_are_refused(tmp_path):
    write(tmp_path, "a.yaml", "name: twin\nrules: []\n")
    write(tmp_path, "b.yaml", "name: twin\nrules: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "scenarios", "check", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "'twin' is already defined in" in result.stderr


def check(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "scenarios", "check", *paths],
        capture_output=True,
        text=True,
    )


def test_one_run_reports_schema_and_semantic_problems_together(tmp_path):
    path = write(
        tmp_path,
        "mixed.yaml",
        "rules:\n"
        "  - mtach: {to: '1'}\n"
        "    script:\n"
        "      - {status: sent}\n"
        "      - {status: rejected, error: 1999}\n"
        "      - inbound: {text: 'hi {{nobody}}'}\n"
        "  - match:\n"
        "      text: {pattern: '(unclosed'}\n"
        "    script: not-a-list\n",
    )
    result = check(path)
    assert result.returncode == 1
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert problems == [
        f"{path}:2: rules[0]: Additional properties are not allowed ('mtach' was unexpected)",
        f"{path}:4: rules[0].script[0].status: 'sent' is not one of "
        "['submitted', 'delivered', 'read', 'rejected', 'undeliverable']",
        f"{path}:5: rules[0].script[1].error: "
        "1999 is not an x-errors code of the spec; give a reason with it",
        f"{path}:6: rules[0].script[2].inbound.text: unknown placeholder {{{{nobody}}}}",
        f"{path}:8: rules[1].match.text.pattern: not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        f"{path}:9: rules[1].script: 'not-a-list' is not of type 'array'",
    ]
    assert result.stderr.splitlines()[0].endswith("6 problem(s) in scenario files:")


def test_duplicate_rule_names_are_flagged(tmp_path):
    path = write(
        tmp_path,
        "twins.yaml",
        "rules:\n"
        "  - name: retry\n    answer: {status: 500}\n"
        "  - answer: {status: 503}\n"
        "  - name: retry\n    answer: {status: 429}\n"
        "  - name: rule-2\n    answer: {status: 502}\n",
    )
    result = check(path)
    assert result.returncode == 1
    assert f"{path}:5: rules[2].name: 'retry' is already the name of rules[0]" in result.stderr
    assert f"{path}:7: rules[3].name: 'rule-2' is already the name of rules[1]" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_serve_refuses_an_invalid_file_with_the_same_report(tmp_path):
    path = write(tmp_path, "status.yaml", BAD_FILES["status.yaml"][0])
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--scenarios", path],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"{path}:3: rules[0].script[0].status: 'sent' is not one of" in result.stderr


def test_valid_files_and_the_built_ins_check_ok(tmp_path):
    write(tmp_path, "flaky.yaml", STATEFUL)
    write(tmp_path, "matching.yaml", MATCHING)
    from sandbox.resources import data_dir

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "scenarios",
            "check",
            str(tmp_path),
            str(data_dir("scenarios")),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "ok: 10 scenario(s)" in result.stdout


def test_unknown_country_code_is_rejected_with_1040(manual, receiver):
    message_uuid = manual.send(message("sms-text", to__number="2800000000")).json()["message_uuid"]
    fictional_uk = manual.send(VALID["sms-text"]).json()["message_uuid"]  # 447700900000
    manual.sandbox.advance(10)
    (rejected,) = statuses(receiver, message_uuid)
    assert rejected["status"] == "rejected"
    assert rejected["error"] == {"code": 1040, "reason": "Invalid message"}
    assert statuses(receiver, fictional_uk)[-1]["status"] == "delivered"


def test_rules_can_match_the_recipients_country(start_sandbox, receiver, tmp_path):
    path = write(
        tmp_path,
        "countries.yaml",
        "rules:\n  - match: {to_country: [US, CA]}\n"
        "    script: [{status: undeliverable, error: 1250}]\n",
    )
    client = start_sandbox(clock="manual", status_url=receiver.url + "/status", scenarios=(path,))
    us = client.send(message("whatsapp-text", to__number="14155550100")).json()["message_uuid"]
    uk = client.send(VALID["whatsapp-text"]).json()["message_uuid"]
    by_id = client.send(VALID["messenger-text"]).json()["message_uuid"]
    client.sandbox.advance(30)
    assert statuses(receiver, us)[-1]["error"]["code"] == 1250
    assert statuses(receiver, uk)[-1]["status"] == "read"
    assert statuses(receiver, by_id)[-1]["status"] == "read"  # ids have no country
