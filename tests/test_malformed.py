"""Malformed input of every kind: each answers in the Error shape, and the server stays up."""

from __future__ import annotations

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
    # waitress de-chunks the body and counts it, so the answer still gives the size.
    assert response.json()["detail"] == (
        f"The request body is {count * 8192} bytes; the sandbox accepts at most {limit} bytes."
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


@pytest.mark.parametrize("path", ["/v0.1/message", "/v1/messages", "/v0.1/messages/extra"])
def test_unknown_path_is_404(client, path):
    response = client.post_raw(b"{}", JSON, path=path)
    assert_problem(response, 404, "not-found", "Not Found", f"There is no resource at {path}.")


def test_internal_error_is_500_in_the_error_shape(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(client.sandbox.validator, "violations", explode)
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
