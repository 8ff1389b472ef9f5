"""Malformed input of every kind: each answers in the Error shape, and the server stays up."""

from __future__ import annotations

import base64
import json
import socket

import pytest

from sandbox.problems import GATEWAY_TYPE

from .conftest import BASIC
from .samples import VALID

JSON = {"Content-Type": "application/json", "Authorization": BASIC}


def assert_problem(response, status: int, error_id: str, title: str, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": GATEWAY_TYPE + error_id,
        "title": title,
        "detail": detail,
        "instance": response.headers["X-Nexmo-Trace-Id"],
    }


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"", "The request body is empty; expected a JSON object."),
        (b"   ", "The request body is empty; expected a JSON object."),
        (
            b"{",
            "The request body is not valid JSON: "
            "Expecting property name enclosed in double quotes at line 1, column 2.",
        ),
        (b"hello", "The request body is not valid JSON: Expecting value at line 1, column 1."),
        (
            b'{"a": 1} trailing',
            "The request body is not valid JSON: Extra data at line 1, column 10.",
        ),
        (b'{"a": NaN}', "The request body is not valid JSON: NaN is not a JSON value."),
        (b'{"text": "\xff\xfe"}', "The request body is not valid UTF-8 (byte 10)."),
        (b"[" * 100_000, "The request body is nested too deeply."),
    ],
)
def test_non_json_body_is_400_invalid_json(client, raw, detail):
    response = client.post_raw(raw, JSON)
    assert_problem(response, 400, "invalid-json", "Invalid JSON", detail)


@pytest.mark.parametrize(
    ("body", "got"),
    [([VALID["sms-text"]], "an array"), ("text", "a string"), (42, "a number"), (None, "null")],
)
def test_json_that_is_not_an_object_is_400(client, body, got):
    response = client.post_raw(json.dumps(body).encode(), JSON)
    assert response.status_code == 400
    assert response.json()["invalid_parameters"] == [
        {"name": "(body)", "reason": f"must be a JSON object; got {got}"}
    ]
    assert response.json()["detail"] == "Found errors validating 1 of your submitted parameters."


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/plain", "got 'text/plain'"),
        ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),
        (None, "none was sent"),
    ],
)
def test_wrong_content_type_is_415(client, content_type, shown):
    headers = {"Authorization": BASIC}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post_raw(json.dumps(VALID["sms-text"]).encode(), headers)
    assert_problem(
        response,
        415,
        "content-type-header",
        "Unsupported Content-Type header",
        f"The Content-Type header must be application/json; {shown}.",
    )


def test_json_with_charset_is_fine(client):
    headers = {**JSON, "Content-Type": "application/json; charset=utf-8"}
    assert client.post_raw(json.dumps(VALID["sms-text"]).encode(), headers).status_code == 202


def test_body_over_the_limit_is_413(client):
    limit = client.sandbox.settings.max_body
    raw = json.dumps({**VALID["sms-text"], "padding": "x" * limit}).encode()
    response = client.post_raw(raw, JSON)
    assert_problem(
        response,
        413,
        "payload-too-large",
        "Payload Too Large",
        f"The request body is {len(raw)} bytes; the sandbox accepts at most {limit} bytes.",
    )


def test_chunked_body_over_the_limit_is_413(client):
    limit = client.sandbox.settings.max_body
    count = limit // 8192 + 2
    chunks = (b"x" * 8192 for _ in range(count))
    response = client.http.post(client.url + "/v0.1/messages", data=chunks, headers=JSON)
    assert response.status_code == 413
    # granian streams a chunked body: the sandbox stops reading past the limit.
    assert response.json()["detail"] == (
        f"The request body is over {limit} bytes; the sandbox accepts at most {limit} bytes."
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(client, method):
    response = client.http.request(method, client.url + "/v0.1/messages", headers=JSON)
    assert_problem(
        response,
        405,
        "wrong-verb",
        "Wrong HTTP method",
        f"{method} is not allowed on /v0.1/messages; use POST.",
    )
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("path", ["/v0.1/message", "/v2/messages", "/v0.1/messages/extra"])
def test_unknown_path_is_404(client, path):
    response = client.post_raw(b"{}", JSON, path=path)
    assert_problem(response, 404, "not-found", "Not Found", f"There is no resource at {path}.")


def test_internal_error_is_500_in_the_error_shape(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(client.sandbox.parsers["v0.1"].validator, "violations", explode)
    response = client.send(VALID["sms-text"])
    assert_problem(
        response,
        500,
        "internal-error",
        "Internal Server Error",
        "The sandbox failed while handling this request; its log holds the details under this "
        "trace id.",
    )


def test_garbage_on_the_socket_does_not_take_the_server_down(client):
    host, port = client.url.removeprefix("http://").split(":")
    for garbage in (
        b"\x00\x01\x02 nonsense\r\n\r\n",
        b"POST /v0.1/messages HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(garbage)
            conn.recv(4096)
    assert client.healthy()


def test_huge_header_does_not_take_the_server_down(client):
    response = client.http.post(
        client.url + "/v0.1/messages",
        json=VALID["sms-text"],
        headers={**JSON, "X-Junk": "j" * 300_000},
    )
    assert response.status_code in (400, 431)
    assert client.healthy()


def test_server_is_healthy_after_all_of_it(client):
    assert client.healthy()


# Lone UTF-16 surrogates: valid JSON grammar, but no Unicode text (issue 9.3) --------------

SURROGATE = "\\ud800"  # as it appears in the JSON text: a backslash escape
SMS = json.dumps(VALID["sms-text"])


def lone_surrogate_detail(where: str) -> str:
    return (
        f"The request body is not valid JSON text: {where} holds a lone UTF-16 surrogate "
        "(\\ud800), which is not Unicode text."
    )


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (
            SMS.replace("Your code is 1234", f"Hi {SURROGATE}"),
            "the value at message.content.text",
        ),
        (SMS.replace("order-42", SURROGATE), "the value at client_ref"),
        (SMS[:-1] + f', "extra": "{SURROGATE}"}}', "the value at extra"),
        (SMS[:-1] + f', "x{SURROGATE}": 1}}', 'the key "x\\ud800" at the top level'),
        (
            SMS.replace('"type": "text",', f'"type": "text", "k{SURROGATE}": [],'),
            'the key "k\\ud800" in message.content',
        ),
        (SMS[:-1] + f', "tags": ["a", "{SURROGATE}"]}}', "the value at tags[1]"),
        (SMS[:-1] + f', "callback": "https://e.com/{SURROGATE}"}}', "the value at callback"),
        (SMS.replace("order-42", "\\udfff"), None),  # a lone low surrogate too
    ],
)
def test_lone_surrogate_anywhere_is_400_naming_where(client, raw, where):
    before = len(client.sandbox.store.query("SELECT uuid FROM messages"))
    response = client.post_raw(raw.encode(), JSON)
    if where is None:
        assert response.status_code == 400
        assert "(\\udfff), which is not Unicode text" in response.json()["detail"]
    else:
        assert_problem(response, 400, "invalid-json", "Invalid JSON", lone_surrogate_detail(where))
    assert len(client.sandbox.store.query("SELECT uuid FROM messages")) == before


def test_a_surrogate_pair_is_one_character_and_accepted(client):
    raw = SMS.replace("Your code is 1234", "Hi \\ud83d\\ude00")
    response = client.post_raw(raw.encode(), JSON)
    assert response.status_code == 202, response.text
    stored = client.sandbox.inspector.message(response.json()["message_uuid"])
    assert stored["request"]["message"]["content"]["text"] == "Hi \U0001f600"


@pytest.mark.parametrize(
    ("method", "path", "raw", "where"),
    [
        ("POST", "/_sandbox/reset", '{"api_key": "\\ud800"}', "the value at api_key"),
        (
            "POST",
            "/_sandbox/inbound",
            '{"channel": "whatsapp", "from": "447700900000", "to": "14157386170", '
            '"content": {"type": "text", "text": "\\ud800"}}',
            "the value at content.text",
        ),
        (
            "PUT",
            "/_sandbox/defaults",
            '{"status_url": "http://e.com/\\ud800"}',
            "the value at status_url",
        ),
        (
            "PUT",
            "/_sandbox/applications/a1",
            '{"inbound_url": "http://e.com/\\ud800"}',
            "the value at inbound_url",
        ),
        (
            "PUT",
            "/_sandbox/scenarios/selected",
            '{"scenarios": ["\\ud800"]}',
            "the value at scenarios[0]",
        ),
    ],
)
def test_lone_surrogate_in_admin_bodies_is_400(start_sandbox, receiver, method, path, raw, where):
    """Refused before anything is stored: later webhooks stay valid (the fixture checks)."""
    client = start_sandbox(clock="manual", status_url=receiver.url + "/status")
    response = client.http.request(
        method, client.url + path, data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "invalid-json", "Invalid JSON", lone_surrogate_detail(where))
    sent = client.send(VALID["sms-text"]).json()["message_uuid"]
    client.sandbox.advance(60)
    assert [r.json["status"] for r in receiver.on("/status")] == ["submitted", "delivered"]
    assert all(r.json["message_uuid"] == sent for r in receiver.on("/status"))


def test_lone_surrogate_in_a_jwt_claim_is_401(client):
    import time
    import uuid

    import jwt

    from .tokens import KEY

    claims = {"application_id": "app-\ud800", "iat": int(time.time()), "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, KEY, algorithm="RS256")
    response = client.send(VALID["sms-text"], authorization=f"Bearer {token}")
    assert_problem(
        response,
        401,
        "unauthorized",
        "Invalid credentials supplied",
        "Malformed JWT: in its claims, the value at application_id holds a lone UTF-16 "
        "surrogate (\\ud800), which is not Unicode text.",
    )


def test_basic_credentials_that_are_not_utf8_say_so(client):
    credentials = base64.b64encode(b"key\xff:secret").decode()
    response = client.send(VALID["sms-text"], authorization=f"Basic {credentials}")
    assert_problem(
        response,
        401,
        "unauthorized",
        "Invalid credentials supplied",
        "Malformed Basic credentials: the base64 is valid but decodes to bytes that are not "
        "UTF-8 text (byte 3); expected base64 of api_key:api_secret.",
    )
    not_base64 = client.send(VALID["sms-text"], authorization="Basic a$b")
    assert not_base64.json()["detail"] == "Malformed Basic credentials: not valid base64."


@pytest.mark.parametrize("path", ["/v0.1/messages", "/_sandbox/inbound"])
def test_ten_megabytes_get_the_documented_413_with_the_max_body_limit(start_sandbox, path):
    """The HTTP server in front (granian) must not answer with its own type and limit."""
    client = start_sandbox(max_body=50_000)
    raw = b'{"padding": "' + b"x" * (10 << 20) + b'"}'
    response = client.post_raw(raw, JSON, path=path)
    assert_problem(
        response,
        413,
        "payload-too-large",
        "Payload Too Large",
        f"The request body is {len(raw)} bytes; the sandbox accepts at most 50000 bytes.",
    )
    assert client.healthy()
