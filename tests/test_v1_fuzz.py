"""Bad v1 input never crashes: mutated published bodies get 202 or one of the document's 422s."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.versions.v1_document import load_v1

from .conftest import BASIC

PUBLISHED = Path(__file__).parent / "published" / "v1"
BODIES = [
    case["body"]
    for name in ("curl.json", "docs.json")
    for case in json.loads((PUBLISHED / name).read_text(encoding="utf-8"))
    if case["method"] == "POST"
]
TYPES = {error.type for error in load_v1().error_types.values()}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)


def paths(value, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def mutated(body, path, replacement, delete):
    """``body`` with the value at ``path`` replaced (or deleted)."""
    body = json.loads(json.dumps(body))
    if not path:
        return replacement
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return body


@st.composite
def bad_bodies(draw):
    """A published body with one value replaced or deleted, or a key added (``failover``
    inside a failover message, ``channel`` inside ``image``…)."""
    body = draw(st.sampled_from(BODIES))
    path = draw(st.sampled_from(list(paths(body))))
    if draw(st.booleans()):
        return mutated(body, path, draw(JSON_VALUES), draw(st.booleans()))
    key = draw(st.sampled_from(["failover", "channel", "message_type", "to", "text", "x"]))
    return mutated(body, (*path, key), draw(JSON_VALUES), False) if is_dict_at(body, path) else body


def is_dict_at(body, path):
    for key in path:
        body = body[key]
    return isinstance(body, dict)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bad_bodies())
def test_mutated_bodies_get_202_or_a_document_422(client, body):
    headers = {"Authorization": BASIC, "Content-Type": "application/json"}
    response = client.http.post(f"{client.url}/v1/messages", data=json.dumps(body), headers=headers)
    assert response.status_code in (202, 422), response.text
    assert response.headers["Content-Type"] == "application/json"
    if response.status_code == 422:
        answer = response.json()
        assert answer["type"] in TYPES, answer
        assert {"type", "title", "detail", "instance"} <= set(answer)
        for parameter in answer.get("invalid_parameters", []):
            assert set(parameter) == {"name", "reason"}


UPDATES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"status": st.sampled_from(["read", "revoked"]) | JSON_VALUES},
        optional={"replying_indicator": JSON_VALUES},
    ),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=UPDATES, target=st.sampled_from(["inbound", "rcs", "unknown"]))
def test_any_update_body_gets_202_404_or_a_document_422(client, body, target):
    headers = {"Authorization": BASIC, "Content-Type": "application/json"}
    if target == "inbound":
        inbound = {"channel": "whatsapp", "from": "447700900000", "to": "447700900001"}
        uuid = client.http.post(f"{client.url}/_sandbox/inbound", json=inbound).json()
    else:
        rcs = next(b for b in BODIES if b["channel"] == "rcs")
        uuid = client.http.post(f"{client.url}/v1/messages", json=rcs, headers=headers).json()
    message_uuid = uuid["message_uuid"] if target != "unknown" else "not-a-message"
    response = client.http.patch(
        f"{client.url}/v1/messages/{message_uuid}", data=json.dumps(body), headers=headers
    )
    assert response.status_code in (202, 404, 422), response.text
    if response.status_code == 422:
        assert response.json()["type"] in TYPES
