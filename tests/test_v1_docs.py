"""docs/v1.md: every curl example answers what the page shows; every channel has one."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from sandbox.versions.v1_document import load_v1

DOC = (Path(__file__).resolve().parent.parent / "docs" / "v1.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
VOLATILE = {
    "message_uuid": UUID,
    "instance": re.compile(r"[0-9a-f]{32}"),
    "workflow_id": re.compile(r"[1-9A-HJ-NP-Za-km-z]{55}"),
}


def examples() -> list[tuple[str, dict]]:
    """(curl command, the JSON answer shown after it) for each example with an answer."""
    blocks = [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC)]
    return [
        (text, json.loads(answer))
        for (lang, text), (next_lang, answer) in zip(blocks, blocks[1:], strict=False)
        if lang == "sh" and text.startswith("curl") and next_lang == "json"
    ]


def curl_request(command: str, base_url: str) -> dict[str, Any]:
    """The curl options the page uses (-s -u -H -d -X; -X wins over -d's POST)."""
    args = shlex.split(command.replace("\\\n", " "))[1:]
    request: dict[str, Any] = {"headers": {}}
    method = None
    while args:
        arg = args.pop(0)
        if arg == "-u":
            request["auth"] = tuple(args.pop(0).split(":", 1))
        elif arg == "-H":
            name, _, value = args.pop(0).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif arg == "-d":
            request["data"] = args.pop(0).encode()
        elif arg == "-X":
            method = args.pop(0)
        elif arg.startswith("http"):
            request["url"] = arg.replace("http://127.0.0.1:4010", base_url)
    request["method"] = method or ("POST" if "data" in request else "GET")
    return request


def assert_same_shape(expected: Any, actual: Any) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), actual
        for key, value in expected.items():
            if key in VOLATILE:
                assert VOLATILE[key].fullmatch(actual[key]), (key, actual[key])
            else:
                assert_same_shape(value, actual[key])
    else:
        assert actual == expected


@pytest.mark.parametrize("index", range(len(examples())))
def test_each_example_answers_as_shown(client, index):
    command, answer = examples()[index]
    response = client.http.request(**curl_request(command, client.url))
    assert response.status_code == (422 if "type" in answer else 202), response.text
    assert_same_shape(answer, response.json())


def test_every_channel_has_an_example():
    channels = {json.loads(curl_request(c, "")["data"])["channel"] for c, _ in examples()}
    assert channels == set(load_v1().message_schemas)


def test_the_patch_example_revokes_an_rcs_message(client):
    command = next(t for lang, t in BLOCK.findall(DOC) if "-X PATCH" in t)
    rcs = next(c for c, _ in examples() if '"channel": "rcs"' in c and "failover" not in c)
    sent = client.http.request(**curl_request(rcs, client.url)).json()
    request = curl_request(command.replace("{message_uuid}", sent["message_uuid"]), client.url)
    response = client.http.request(**request)
    assert (response.status_code, response.content) == (202, b"")
    assert client.get(f"/_sandbox/messages/{sent['message_uuid']}").json()["status"] == "revoked"


def test_the_magic_recipient_table_is_the_v1_librarys(client):
    from sandbox.engine_v1 import V1Api

    table = DOC.split("<!-- v1-errors-table:start -->\n")[1].split("<!-- v1-errors-table:end -->")[
        0
    ]
    assert table == V1Api(client.sandbox).error_table()
    assert "| 1431 | Multiple recipients error | `15550001431` |" in table
