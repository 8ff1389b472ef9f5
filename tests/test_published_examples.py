"""Vonage's own published v0.1 requests, sent over HTTP: each is accepted and journaled.

The cases in tests/published/v0_1 were collected from the history of Vonage's curl and Node
code-snippet repositories and its developer docs (2018-2022); each keeps its source (repository,
path, commit) and the values given to the snippet's placeholders. The real API accepted them,
so the sandbox must: this is the "never refuse what the real API accepted" rule as a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.problems import INVALID_PARAMS_TYPE

CASES_DIR = Path(__file__).parent / "published" / "v0_1"
CASES = {
    path.stem: json.loads(path.read_text(encoding="utf-8")) for path in CASES_DIR.glob("*.json")
}
ACCEPTED = sorted(name for name, case in CASES.items() if case["expected"] == 202)
REFUSED = sorted(name for name, case in CASES.items() if case["expected"] == 400)


@pytest.mark.parametrize("name", ACCEPTED)
def test_published_request_is_accepted_and_journaled(client, name):
    body = CASES[name]["body"]
    response = client.send(body)

    assert response.status_code == 202, response.text
    message_uuid = response.json()["message_uuid"]
    journaled = client.get(f"/_sandbox/messages/{message_uuid}")
    assert journaled.status_code == 200
    assert journaled.json()["request"] == body


@pytest.mark.parametrize("name", REFUSED)
def test_published_request_kept_refused_gets_exactly_its_recorded_reasons(client, name):
    # Bodies the document's schema refuses (placeholders left outside JSON quotes) and two
    # beta-era typos Vonage corrected; each case's note gives the reason it stays refused.
    case = CASES[name]
    response = client.send(case["body"])

    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == INVALID_PARAMS_TYPE
    assert problem["invalid_parameters"] == case["expected_invalid_parameters"]
    assert case["note"]


def test_every_case_names_its_source_and_expectation():
    assert len(ACCEPTED) >= 45
    for name, case in CASES.items():
        source = case["source"]
        assert source["repository"].startswith("https://github.com/"), name
        assert len(source["commit"]) == 40 and source["path"], name
        assert source["url"] == f"{source['repository']}/blob/{source['commit']}/{source['path']}"
        assert case["expected"] in (202, 400), name
        assert set(case["body"]) >= {"to", "from", "message"}, name


def test_channels_and_content_types_are_all_represented():
    seen = {
        (case["body"]["to"]["type"], case["body"]["message"]["content"]["type"])
        for case in (CASES[name] for name in ACCEPTED)
    }
    assert {("whatsapp", "custom"), ("messenger", "custom"), ("whatsapp", "template")} <= seen
    assert {("sms", "text"), ("mms", "image"), ("viber_service_msg", "image")} <= seen
