"""Fuzzing over real HTTP: schemathesis from the spec, generated valid messages, hostile input.

No input may crash the server or get a 5xx; every 202 and 400 must conform to the spec's
response schemas; every other error must have the Error shape; the server stays healthy.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.config import Settings
from sandbox.resources import data_dir
from sandbox.server import Server
from sandbox.spec import Spec

from .conftest import BASIC, Client
from .samples import VALID

DOCUMENT = yaml.safe_load((data_dir("spec") / "messages-olympus-0.3.1.yml").read_text())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SPEC = Spec.load()
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Client]:
    server = Server(Settings(port=0, log_level="error", clock="manual")).start()
    yield Client(server)
    server.stop()


def headers_of(response: Any) -> dict[str, str]:
    """requests gives {Name: value}; schemathesis gives {name: [values]}: one form for both."""
    return {k.lower(): v[0] if isinstance(v, list) else v for k, v in response.headers.items()}


def check_answer(response: Any) -> None:
    """What every answer of POST /v0.1/messages must look like, whatever was sent."""
    status, headers = response.status_code, headers_of(response)
    assert status < 500, response.text
    if "x-nexmo-trace-id" not in headers:  # HTTP granian itself refused (bad header bytes)
        assert status in (400, 431) and not response.content, response.content
        return
    assert len(headers["x-nexmo-trace-id"]) == 32
    if status == 202:
        assert headers["content-type"] == "application/json"
        SPEC.validator("Response").validate(response.json())
        return
    if status == 200:  # only OPTIONS, which Flask answers with the allowed methods
        assert response.request.method == "OPTIONS" and "POST" in headers["allow"]
        return
    assert headers["content-type"] == "application/problem+json"
    if response.request.method == "HEAD":
        return  # same answer as GET, without its body
    body = response.json()
    SPEC.validator("Error").validate(body)
    assert body["instance"] == headers["x-nexmo-trace-id"]
    for parameter in body.get("invalid_parameters", []):
        assert parameter["name"] and parameter["reason"]


@SCHEMA.parametrize()
@FUZZ
def test_schemathesis_never_gets_a_5xx_and_answers_conform(case, fuzzed):
    case.headers = {**(case.headers or {}), "Authorization": BASIC}
    check_answer(case.call(base_url=fuzzed.url + "/v0.1"))


@SCHEMA.parametrize()
@FUZZ
def test_schemathesis_without_credentials_gets_401s(case, fuzzed):
    response = case.call(base_url=fuzzed.url + "/v0.1")
    check_answer(response)
    if response.request.method == "POST" and response.status_code not in (404, 405):
        assert response.status_code == 401


# generated valid messages: every one is accepted and journaled ---------------------------

DIGITS = st.text("0123456789", min_size=6, max_size=14)
NUMBERS = st.builds(lambda first, rest: first + rest, st.sampled_from("123456789"), DIGITS)
TEXTS = st.text(min_size=1, max_size=640)


@st.composite
def valid_messages(draw) -> dict[str, Any]:
    body = copy.deepcopy(VALID[draw(st.sampled_from(sorted(VALID)))])
    channel = body["to"]["type"]
    if "number" in body["to"]:
        body["to"]["number"] = draw(NUMBERS)
    if body["message"]["content"]["type"] == "text":
        body["message"]["content"]["text"] = draw(TEXTS)
    if draw(st.booleans()):
        body["client_ref"] = draw(st.text(max_size=40))
    if channel == "messenger":
        body["to"]["id"] = draw(st.text(min_size=1, max_size=50))
    return body


@given(body=valid_messages())
@FUZZ
def test_generated_valid_messages_are_accepted_and_journaled(fuzzed, body):
    response = fuzzed.send(body)
    check_answer(response)
    assert response.status_code == 202, response.text
    record = fuzzed.sandbox.store.get_message(response.json()["message_uuid"])
    assert record["request"] == body


# wrong types at every field --------------------------------------------------------------


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))


def replaced(body: dict, path: tuple, value: Any) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def dotted(path: tuple) -> str:
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)
    )


WRONG = [None, True, 7, 1.5, "text", [], {}]
FIELD_CASES = [
    (name, path, wrong)
    for name in ("sms-text", "whatsapp-template", "viber-text", "messenger-text", "mms-image")
    for path in leaves(VALID[name])
    if path
    for wrong in WRONG
]


def test_wrong_types_at_every_field_are_400s_naming_the_field(fuzzed):
    failures = []
    for name, path, wrong in FIELD_CASES:
        original = VALID[name]
        node = original
        for key in path:
            node = node[key]
        if type(node) is type(wrong) or (isinstance(node, str) and isinstance(wrong, str)):
            continue  # not a wrong type
        response = fuzzed.send(replaced(original, path, wrong))
        check_answer(response)
        names = [p["name"] for p in response.json().get("invalid_parameters", [])]
        target = dotted(path)
        if response.status_code != 400 or not any(
            n == target or target.startswith(n + ".") or n.startswith(target) for n in names
        ):
            failures.append((name, target, wrong, response.status_code, names))
    assert not failures, failures[:10]
    assert fuzzed.healthy()


# hostile input ----------------------------------------------------------------------------


def test_header_abuse(fuzzed):
    body = json.dumps(VALID["sms-text"]).encode()
    many = {f"X-Junk-{i}": "x" * 50 for i in range(300)}
    response = fuzzed.post_raw(
        body, {"Content-Type": "application/json", "Authorization": BASIC, **many}
    )
    assert response.status_code in (202, 400, 431)
    odd = {"Content-Type": "application/json;;;charset=\x7f", "Authorization": BASIC + "\t"}
    check_answer(fuzzed.post_raw(body, odd))
    weird_auth = {"Content-Type": "application/json", "Authorization": "Basic " + "=" * 5000}
    check_answer(fuzzed.post_raw(body, weird_auth))
    assert fuzzed.healthy()


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /v0.1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",  # short body
        b"POST /v0.1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v0.1/messages HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"\xff\xfe\xfd\r\n\r\n",
    ],
)
def test_broken_http_does_not_take_the_server_down(fuzzed, raw):
    host, port = fuzzed.url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=3) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    if answer and body:  # the app answered: the Error shape (granian's own 400 has no body)
        assert b"content-type: application/problem+json" in head.lower(), answer[:300]
        SPEC.validator("Error").validate(json.loads(body))
    assert fuzzed.healthy()


@pytest.mark.parametrize(
    "body",
    [
        {"to": {"type": "sms", "number": "4" * 10_000}, "from": {}, "message": {}},
        {**VALID["sms-text"], "nested": json.loads("[" * 500 + "]" * 500)},
        {
            **VALID["sms-text"],
            "message": {"content": {"type": "text", "text": "\u0000\ud7ff\uffff"}},
        },
        {
            **VALID["whatsapp-template"],
            "message": {
                "content": {
                    "type": "template",
                    "template": {
                        "name": "a:b",
                        "parameters": [{"default": str(i)} for i in range(3000)],
                    },
                }
            },
        },
    ],
)
def test_odd_but_json_bodies(fuzzed, body):
    check_answer(fuzzed.send(body))
    assert fuzzed.healthy()
