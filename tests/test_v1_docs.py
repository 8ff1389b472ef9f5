"""docs/v1.md: an example for every channel, a PATCH that works, the magic-recipient table.

Each curl example with its answer is run by tests/test_readme.py, like every page's.
"""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.error_table import markdown
from sandbox.versions.v1_document import load_v1

from .test_readme import blocks, curl_commands, curl_to_request

DOC = Path(__file__).resolve().parent.parent / "docs" / "v1.md"


def requests_shown(base_url: str) -> list[dict]:
    """The request of every curl command the page shows."""
    return [
        curl_to_request(args, base_url)
        for block in blocks(DOC)
        if block.lang == "sh"
        for args in curl_commands(block.text)
    ]


def test_every_channel_of_the_document_has_an_example():
    sends = [r for r in requests_shown("") if r["url"].endswith("/v1/messages")]
    assert {json.loads(r["data"])["channel"] for r in sends} == set(load_v1().message_schemas)


def test_the_patch_example_revokes_an_rcs_message(client):
    shown = requests_shown(client.url)
    rcs = next(
        r
        for r in shown
        if b'"channel": "rcs"' in r.get("data", b"") and b"failover" not in r["data"]
    )
    sent = client.http.request(**rcs).json()
    patch = next(r for r in shown if r["method"] == "PATCH")
    patch["url"] = patch["url"].replace("{message_uuid}", sent["message_uuid"])
    response = client.http.request(**patch)
    assert (response.status_code, response.content) == (202, b"")
    assert client.get(f"/_sandbox/messages/{sent['message_uuid']}").json()["status"] == "revoked"


def test_the_magic_recipient_table_is_the_v1_librarys(client):
    page = DOC.read_text(encoding="utf-8")
    table = page.split("<!-- v1-errors-table:start -->\n")[1].split("<!-- v1-errors-table:end -->")[
        0
    ]
    assert table == markdown(client.sandbox.library, load_v1().spec, "v1")
    assert "| 1431 | Multiple recipients error | `15550001431` |" in table


def test_the_errors_command_prints_that_table_with_api_v1():
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "errors", "--api", "v1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    page = DOC.read_text(encoding="utf-8")
    assert printed == page.split("<!-- v1-errors-table:start -->\n")[1].split("<!-- v1-")[0]


def test_the_webhook_payloads_shown_are_valid_v1_webhooks():
    from .test_v1_webhooks import document_validators

    validators = document_validators()
    shown = [json.loads(b.text) for b in blocks(DOC) if b.lang == "json"]
    payloads = [p for p in shown if "timestamp" in p]
    assert len(payloads) >= 4
    for payload in payloads:
        kind = "status" if "status" in payload else "inbound"
        validators[kind].validate(payload)
