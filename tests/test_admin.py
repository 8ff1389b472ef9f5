"""The /_sandbox/ admin API over real HTTP; every answer is checked against its own document."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from .receiver import Behaviour
from .samples import VALID, message
from .tokens import KEY, bearer


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:secret".encode()).decode()


@pytest.fixture(scope="module")
def document() -> OpenAPI:
    from sandbox.web.admin import ADMIN_DOCUMENT

    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(yaml.safe_load(ADMIN_DOCUMENT.read_text()), config=config)


@pytest.fixture
def admin(manual, document):
    """Call the admin API and check the answer against the admin document."""

    def call(method: str, path: str, expect: int = 200, **kwargs):
        response = manual.http.request(method, f"{manual.url}/_sandbox{path}", **kwargs)
        assert response.status_code == expect, response.text
        if response.status_code != 204:
            document.validate_response(
                RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
            )
        return response.json() if response.content else None

    return call


def test_health_and_the_admin_document(manual, admin):
    assert admin("GET", "/health")["status"] == "ok"
    text = manual.get("/_sandbox/openapi.yaml").text
    from openapi_spec_validator import validate

    validate(yaml.safe_load(text))


def test_list_messages_filters_and_pages_newest_first(manual, admin):
    sent = []
    for i in range(5):
        body = message("sms-text", client_ref=f"ref-{i}", to__number=f"4477009000{i:02d}")
        sent.append(manual.send(body, basic("key-a" if i % 2 else "key-b")).json()["message_uuid"])
    manual.send(VALID["whatsapp-text"], basic("key-a"))

    everything = admin("GET", "/messages")["items"]
    assert [m["message_uuid"] for m in everything][1:] == sent[::-1]
    assert (
        admin("GET", "/messages", params={"channel": "whatsapp"})["items"][0]["to"]
        == "447700900000"
    )
    by_key = admin("GET", "/messages", params={"api_key": "key-a", "channel": "sms"})["items"]
    assert [m["client_ref"] for m in by_key] == ["ref-3", "ref-1"]
    assert (
        admin("GET", "/messages", params={"client_ref": "ref-2,ref-4"})["items"][0]["client_ref"]
        == "ref-4"
    )
    first = admin("GET", "/messages", params={"limit": 2})
    second = admin("GET", "/messages", params={"limit": 2, "before": first["next_before"]})
    assert [m["client_ref"] for m in first["items"] + second["items"]] == [
        None,
        "ref-4",
        "ref-3",
        "ref-2",
    ]
    future = admin("GET", "/messages", params={"since": "2100-01-01T00:00:00Z"})
    assert future["items"] == [] and future["next_before"] is None
    past = admin("GET", "/messages", params={"until": time.time() - 3600})
    assert past["items"] == []


def test_bad_filters_are_400_naming_each(admin):
    body = admin("GET", "/messages", 400, params={"colour": "red", "limit": "0", "since": "soon"})
    names = {p["name"]: p["reason"] for p in body["invalid_parameters"]}
    assert set(names) == {"colour", "limit", "since"}
    assert names["limit"] == "must be between 1 and 500"


def test_one_message_in_full(manual, admin, receiver):
    receiver.answer(Behaviour(500))
    message_uuid = manual.send(VALID["sms-text"]).json()["message_uuid"]
    manual.sandbox.advance(30)

    detail = admin("GET", f"/messages/{message_uuid}")
    assert detail["request"] == VALID["sms-text"]
    assert detail["response"] == {"status": 202, "body": {"message_uuid": message_uuid}}
    assert (detail["scenario"], detail["rule"], detail["status"]) == ("default", "sms", "delivered")
    submitted, delivered = detail["events"]
    assert [a["status_code"] for a in submitted["attempts"]] == [500, 200]
    assert submitted["attempts"][0]["error"] == "HTTP 500"
    assert submitted["attempts"][0]["url"] == receiver.url + "/status"
    assert submitted["payload"]["status"] == "submitted" and submitted["state"] == "delivered"
    assert isinstance(submitted["attempts"][1]["latency_ms"], float)
    assert (
        admin("GET", "/messages/nope", 404)["detail"] == "There is no message nope in the journal."
    )


def test_list_webhooks_filters(manual, admin):
    first = manual.send(VALID["whatsapp-text"]).json()["message_uuid"]
    manual.send(VALID["sms-text"])
    manual.sandbox.advance(30)
    reads = admin("GET", "/webhooks", params={"status": "read"})["items"]
    assert [w["message_uuid"] for w in reads] == [first]
    mine = admin("GET", "/webhooks", params={"message_uuid": first})["items"]
    assert [w["status"] for w in mine] == ["read", "delivered", "submitted"]
    assert (
        len(admin("GET", "/webhooks", params={"channel": "sms", "state": "delivered"})["items"])
        == 2
    )


def test_wait_returns_as_soon_as_the_webhook_exists_on_a_manual_clock(manual, admin):
    message_uuid = manual.send(VALID["whatsapp-text"]).json()["message_uuid"]
    started = time.perf_counter()
    # Nobody moves the clock: the pending wait does, from due event to due event.
    found = admin(
        "GET", "/wait", params={"message_uuid": message_uuid, "status": "read", "timeout": 10}
    )
    assert time.perf_counter() - started < 5
    assert found["payload"]["status"] == "read" and found["state"] == "delivered"


def test_wait_on_a_real_clock_returns_when_it_happens(start_sandbox, document):
    client = start_sandbox(speed=50)
    message_uuid = client.send(VALID["sms-text"]).json()["message_uuid"]
    response = client.get(
        "/_sandbox/wait",
        params={"message_uuid": message_uuid, "status": "delivered", "timeout": 10},
    )
    assert response.status_code == 200 and response.json()["state"] == "unsent"


def test_wait_times_out_with_408_showing_what_arrived(manual, admin):
    message_uuid = manual.send(VALID["sms-text"]).json()["message_uuid"]
    body = admin(
        "GET", "/wait", 408, params={"message_uuid": message_uuid, "status": "read", "timeout": 0.5}
    )
    assert body["type"].endswith("#wait-timeout")
    assert [w["status"] for w in body["arrived"]] == ["delivered", "submitted"]


def test_wait_for_a_message(manual, admin):
    manual.send(message("sms-text", client_ref="late-one"))
    found = admin("GET", "/wait", params={"for": "message", "client_ref": "late-one", "timeout": 1})
    assert found["client_ref"] == "late-one"


def test_inject_inbound(manual, admin, receiver):
    created = admin(
        "POST",
        "/inbound",
        201,
        json={
            "channel": "whatsapp",
            "from": "447700900000",
            "to": "14157386170",
            "content": {"type": "text", "text": "Hi there"},
        },
    )
    (request,) = receiver.wait_for(1, "/inbound")
    assert request.json["message_uuid"] == created["message_uuid"]
    assert request.json["message"]["content"] == {"type": "text", "text": "Hi there"}
    listed = admin("GET", "/messages", params={"direction": "inbound"})["items"]
    assert listed[0]["message_uuid"] == created["message_uuid"]


@pytest.mark.parametrize("version", ["v0.1", "v1"])
def test_injected_numeric_coordinates_reach_either_shape(manual, admin, receiver, version):
    """0.3.1 types lat/long as strings, v1 as numbers: whichever a caller gives, both hold."""
    location = {"lat": 51.5072, "long": -0.1276, "name": "Shop"}
    admin(
        "POST",
        "/inbound",
        201,
        json={
            "channel": "whatsapp",
            "content": {"type": "location", "location": location},
            "webhook_version": version,
        },
    )
    (request,) = receiver.wait_for(1, "/inbound")
    sent = request.json["message"]["content"] if version == "v0.1" else request.json
    assert (sent["location"]["lat"], sent["location"]["long"]) == (
        ("51.5072", "-0.1276") if version == "v0.1" else (51.5072, -0.1276)
    )
    assert admin("GET", "/webhooks", params={"state": "invalid"})["items"] == []


@pytest.mark.parametrize(
    "given, customer, business",
    [
        ({"channel": "messenger"}, {"id": "0123456789012345"}, {"id": "107083064136738"}),
        ({"channel": "whatsapp", "from": "447700900123"}, {"number": "447700900123"}, None),
        ({"channel": "mms", "to": "12345"}, None, {"number": "12345"}),
    ],
)
def test_inject_inbound_fills_the_parties_left_out(
    manual, admin, receiver, given, customer, business
):
    """What the caller leaves out is generated: from and to as the CLI fills them."""
    created = admin("POST", "/inbound", 201, json=given)
    (request,) = receiver.wait_for(1, "/inbound")
    payload = request.json
    assert payload["message_uuid"] == created["message_uuid"]
    channel = given["channel"]
    assert payload["from"] == {"type": channel, **(customer or {"number": "447700900000"})}
    assert payload["to"] == {"type": channel, **(business or {"number": "14157386170"})}
    assert payload["message"]["content"]["type"] == "text" and payload["message"]["content"]["text"]


def test_inject_inbound_validates(admin):
    body = admin(
        "POST", "/inbound", 400, json={"channel": "sms", "to": 5, "content": {"type": "sticker"}}
    )
    assert {p["name"] for p in body["invalid_parameters"]} == {"channel", "to", "content.type"}
    assert admin("POST", "/inbound", 400, data="[1]", headers={"Content-Type": "application/json"})


def test_scoped_reset_isolates_two_api_keys(manual, admin, receiver):
    a = manual.send(VALID["sms-text"], basic("key-a")).json()["message_uuid"]
    b = manual.send(VALID["sms-text"], basic("key-b")).json()["message_uuid"]
    assert admin("POST", "/reset", json={"api_key": "key-a"}) == {"deleted_messages": 1}

    assert admin("GET", "/messages", params={"api_key": "key-a"})["items"] == []
    assert [
        m["message_uuid"] for m in admin("GET", "/messages", params={"api_key": "key-b"})["items"]
    ] == [b]
    manual.sandbox.advance(30)
    got = {r.json["message_uuid"] for r in receiver.on("/status")}
    assert got == {b}  # a's scheduled webhooks were cancelled by the reset
    assert a not in got


def test_full_reset_restores_the_start_configuration(manual, admin):
    admin("PUT", "/defaults", json={"status_url": "http://127.0.0.1:9/x", "inbound_url": None})
    admin("PUT", "/applications/app-1", json={"status_url": "http://127.0.0.1:9/app"})
    manual.send(VALID["sms-text"])
    assert admin("POST", "/reset") == {"deleted_messages": 1}
    apps = admin("GET", "/applications")
    assert apps["applications"] == [] and apps["defaults"]["status_url"].endswith("/status")


def test_applications_route_webhooks_and_verify_keys(manual, admin, receiver):
    from cryptography.hazmat.primitives import serialization

    pem = (
        KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = admin(
        "PUT", "/applications/app-7", json={"status_url": receiver.url + "/app7", "public_key": pem}
    )
    assert app["status_url"].endswith("/app7")
    message_uuid = manual.send(VALID["sms-text"], bearer("app-7")).json()["message_uuid"]
    manual.sandbox.advance(30)
    assert {r.json["message_uuid"] for r in receiver.on("/app7")} == {message_uuid}
    # Now that a key is known, another application's token is refused.
    assert manual.send(VALID["sms-text"], bearer("app-8")).status_code == 401
    bad = admin("PUT", "/applications/app-9", 400, json={"public_key": "not a pem"})
    assert bad["invalid_parameters"][0]["name"] == "public_key"


def test_select_scenarios_per_scope(manual, admin, receiver):
    names = {s["name"]: s["select"] for s in admin("GET", "/scenarios")["scenarios"]}
    assert names["whatsapp-window"] == "on-request" and names["default"] == "fallback"
    admin("PUT", "/scenarios/selected", json={"scenarios": ["whatsapp-window"], "api_key": "key-a"})
    assert admin("GET", "/scenarios")["selected"] == {"key-a": ["whatsapp-window"]}
    a = manual.send(VALID["whatsapp-text"], basic("key-a")).json()["message_uuid"]
    b = manual.send(VALID["whatsapp-text"], basic("key-b")).json()["message_uuid"]
    manual.sandbox.advance(30)
    last = {r.json["message_uuid"]: r.json for r in receiver.on("/status")}
    assert last[a]["status"] == "rejected" and last[a]["error"]["code"] == 1340
    assert last[b]["status"] == "read"
    unknown = admin("PUT", "/scenarios/selected", 400, json={"scenarios": ["nope"]})
    assert unknown["type"].endswith("#unknown-scenario")


def test_clock(manual, admin):
    before = admin("GET", "/clock")
    after = admin("POST", "/clock/advance", json={"seconds": 90})
    assert before["clock"] == "manual" and after["now"] > before["now"]
    admin("POST", "/clock/advance", 400, json={"seconds": "soon"})


def test_sink_accepts_everything(manual):
    response = manual.http.post(manual.url + "/_sandbox/sink/status/x", json={"a": 1})
    assert response.status_code == 204


def test_admin_token_protects_everything_but_health_and_sink(start_sandbox):
    client = start_sandbox(admin_token="s3cret")
    assert client.get("/_sandbox/health").status_code == 200
    assert client.http.post(client.url + "/_sandbox/sink/s", json={}).status_code == 204
    refused = client.get("/_sandbox/messages")
    assert refused.status_code == 401
    assert refused.json()["detail"] == (
        "The admin API needs 'Authorization: Bearer <admin token>' (see --admin-token)."
    )
    assert (
        client.get("/_sandbox/messages", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    ok = client.get("/_sandbox/messages", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    # The Messages API itself is not behind the admin token.
    assert client.send(VALID["sms-text"]).status_code == 202


def test_admin_calls_are_not_journaled_as_api_traffic(manual, admin):
    admin("GET", "/messages")
    admin("POST", "/reset")
    assert admin("GET", "/messages")["items"] == []


def test_clock_and_cursor_bounds_are_400s_not_500s(manual, admin):
    for seconds in (1e12, -1):
        admin("POST", "/clock/advance", 400, json={"seconds": seconds})
    raw = manual.http.post(
        manual.url + "/_sandbox/clock/advance",
        data=b'{"seconds": Infinity}',
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    body = admin("GET", "/messages", 400, params={"before": "9" * 30})
    assert body["invalid_parameters"][0]["name"] == "before"
    assert admin("GET", "/clock")["now"].startswith("20")


def test_plugin_waits_only_for_webhooks_that_arrived(start_sandbox, receiver):
    from sandbox.client import SandboxClient, WaitTimeout
    from sandbox.pytest_plugin import MessagesSandbox

    receiver.default = Behaviour(500)
    client = start_sandbox(clock="manual", status_url=receiver.url + "/s", retry_for=60)
    sandbox = MessagesSandbox(SandboxClient(client.url))
    status, body = sandbox.send(VALID["sms-text"])
    with pytest.raises(WaitTimeout) as caught:
        sandbox.wait_for_status(body["message_uuid"], "submitted", timeout=2)
    assert "failed" in str(caught.value) or "pending" in str(caught.value)


def test_waits_with_few_server_threads_and_the_own_sink(start_sandbox):
    import threading

    client = start_sandbox(clock="manual", threads=2)
    sink = client.url + "/_sandbox/sink/status"
    client.http.put(client.url + "/_sandbox/defaults", json={"status_url": sink})
    sent = [client.send(VALID["sms-text"]).json()["message_uuid"] for _ in range(3)]
    answers = {}

    def wait(message_uuid):
        answers[message_uuid] = client.get(
            "/_sandbox/wait",
            params={"message_uuid": message_uuid, "status": "delivered", "timeout": 10},
        )

    waiters = [threading.Thread(target=wait, args=(u,)) for u in sent]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(20)
    assert {u: r.status_code for u, r in answers.items()} == dict.fromkeys(sent, 200)
    assert {r.json()["state"] for r in answers.values()} == {"delivered"}


def test_scoped_webhook_urls_filters_and_reset(manual, admin, receiver):
    admin("PUT", "/defaults", json={"status_url": receiver.url + "/a", "api_key": "key-a"})
    assert admin("GET", "/defaults", params={"scope": "key-a"})["status_url"] == (
        receiver.url + "/a"
    )
    assert admin("GET", "/defaults")["status_url"] == receiver.url + "/status"
    mine = manual.send(VALID["sms-text"], basic("key-a")).json()["message_uuid"]
    theirs = manual.send(VALID["sms-text"], basic("key-b")).json()["message_uuid"]
    jwt_one = manual.send(VALID["sms-text"], bearer("app-a")).json()["message_uuid"]
    manual.sandbox.advance(30)
    assert {r.json["message_uuid"] for r in receiver.on("/a")} == {mine}
    assert {r.json["message_uuid"] for r in receiver.on("/status")} == {theirs, jwt_one}

    scoped = admin("GET", "/messages", params={"scope": "key-a,app-a"})["items"]
    assert {m["message_uuid"] for m in scoped} == {mine, jwt_one}
    hooks = admin("GET", "/webhooks", params={"scope": "key-a"})["items"]
    assert {w["message_uuid"] for w in hooks} == {mine}

    assert admin("POST", "/reset", json={"api_key": "key-a"})["deleted_messages"] == 1
    assert admin("GET", "/defaults", params={"scope": "key-a"})["status_url"] == (
        receiver.url + "/status"
    )  # the scope's own URLs went with it; the others stay
    remaining = {m["message_uuid"] for m in admin("GET", "/messages")["items"]}
    assert remaining == {theirs, jwt_one}


# Safe by default (issue 9.4): other web sites, the sandbox's own webhooks, tokens -----------


def admin_writes(sandbox) -> list[tuple[str, str]]:
    """(method, path) of every admin route that changes something (the sink changes nothing)."""
    from sandbox.web import create_app

    rules = create_app(sandbox=sandbox).url_map.iter_rules()
    return sorted(
        (method, re.sub(r"<[^>]+>", "x", rule.rule))
        for rule in rules
        if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.sink"
        for method in rule.methods - {"GET", "HEAD", "OPTIONS"}
    )


def test_every_admin_write_needs_a_json_content_type(manual, admin):
    """A page can make a browser POST text/plain or a form without asking; JSON it cannot."""
    kept = manual.send(VALID["sms-text"]).json()["message_uuid"]
    writes = admin_writes(manual.sandbox)
    assert ("POST", "/_sandbox/reset") in writes and len(writes) >= 6
    for method, path in writes:
        for content_type, shown in (
            ("text/plain", "got 'text/plain'"),
            ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),
            ("multipart/form-data; boundary=b", "got 'multipart/form-data; boundary=b'"),
            (None, "none was sent"),
        ):
            headers = {"Content-Type": content_type} if content_type else {}
            answer = admin(method, path.removeprefix("/_sandbox"), 415, data=b"{}", headers=headers)
            assert answer["detail"] == (
                f"The Content-Type header must be application/json; {shown}."
            ), (method, path)
    assert admin("POST", "/reset", 415, headers={"Content-Type": "text/plain"})
    assert [m["message_uuid"] for m in admin("GET", "/messages")["items"]] == [kept]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "http://evil.example"}, "its Origin 'http://evil.example' is not this sandbox"),
        ({"Origin": "null"}, "its Origin 'null' is not this sandbox"),
        ({"Origin": "http://127.0.0.1:1"}, "its Origin 'http://127.0.0.1:1' is not this sandbox"),
        ({"Origin": "http://[::1"}, "its Origin 'http://[::1' is not this sandbox"),
        ({"Sec-Fetch-Site": "cross-site"}, "the browser sent it with Sec-Fetch-Site: cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "the browser sent it with Sec-Fetch-Site: same-site"),
    ],
)
def test_cross_site_admin_writes_are_403(manual, admin, headers, reason):
    kept = manual.send(VALID["sms-text"]).json()["message_uuid"]
    host = manual.url.removeprefix("http://")
    for method, path, body in (("POST", "/reset", {}), ("PUT", "/defaults", {"status_url": None})):
        answer = admin(method, path, 403, json=body, headers=headers)
        assert answer["type"] == "https://developer.nexmo.com/api-errors#cross-site-request"
        expected = f"Admin writes are refused from other web sites: {reason}"
        assert answer["detail"].startswith(expected), answer["detail"]
        if "Origin" in headers:
            assert answer["detail"] == f"{expected} ({host}).", answer["detail"]
    assert [m["message_uuid"] for m in admin("GET", "/messages", headers=headers)["items"]] == [
        kept
    ]


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}, "own origin"],
)
def test_same_origin_and_non_browser_admin_writes_pass(manual, admin, headers):
    if headers == "own origin":
        headers = {"Origin": manual.url, "Sec-Fetch-Site": "same-origin"}
    manual.send(VALID["sms-text"])
    assert admin("POST", "/reset", json={}, headers=headers) == {"deleted_messages": 1}


def test_admin_token_scheme_is_case_insensitive(start_sandbox):
    client = start_sandbox(admin_token="s3cret")
    for given, status in (
        ("bearer s3cret", 200),
        ("BEARER  s3cret ", 200),
        ("Bearer s3cret", 200),
        ("bearer wrong", 401),
        ("Basic s3cret", 401),
        ("s3cret", 401),
    ):
        # one guard: the admin API, the change feed and the UI's JSON agree on every header
        for path in ("/_sandbox/messages", "/_sandbox/changes", "/_sandbox/conversations"):
            answer = client.get(path, headers={"Authorization": given})
            assert answer.status_code == status, (given, path)
        page = client.get("/_sandbox/ui/", headers={"Authorization": given}, allow_redirects=False)
        assert page.status_code == (200 if status == 200 else 302), given


CROSS_SITE_HEADERS = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},
    {"Origin": "http://[::1"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "Same-Site"},
]


@pytest.mark.parametrize("headers", CROSS_SITE_HEADERS)
def test_the_ui_login_refuses_what_admin_writes_refuse(start_sandbox, headers):
    client = start_sandbox(admin_token="s3cret")
    login = client.http.post(
        client.url + "/_sandbox/ui/login",
        data={"token": "s3cret"},
        headers=headers,
        allow_redirects=False,
    )
    assert login.status_code == 401 and "Set-Cookie" not in login.headers, login.text[:200]
    write = client.http.post(
        client.url + "/_sandbox/reset",
        json={},
        headers={**headers, "Authorization": "Bearer s3cret"},
    )
    assert write.status_code == 403
    assert client.healthy()


def test_the_ui_login_accepts_its_own_origin_in_any_case(start_sandbox):
    client = start_sandbox(admin_token="s3cret")
    login = client.http.post(
        client.url + "/_sandbox/ui/login",
        data={"token": "s3cret"},
        headers={"Origin": client.url.upper(), "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert login.status_code == 302 and "Set-Cookie" in login.headers


OWN_ADMIN_PATHS = [
    "/_sandbox/reset",
    "/_sandbox/inbound",
    "/%5Fsandbox/reset",
    "/x/../_sandbox/reset",
    "//_sandbox/defaults",
    "/_sandbox/sink/../reset",
    "/_sandbox",
]


def admin_url_reason(url: str) -> str:
    return (
        "must not point at the sandbox's admin API (/_sandbox/…; only /_sandbox/sink/… may "
        f"receive webhooks); got {url!r}"
    )


def scheme_reason(url: str) -> str:
    return f"must be an absolute http or https URL; got {url!r}"


@pytest.mark.parametrize("path", OWN_ADMIN_PATHS)
def test_a_callback_to_the_admin_api_is_refused_at_send(manual, path):
    url = manual.url + path
    response = manual.send(message("sms-text", callback=url))
    assert response.status_code == 400, response.text
    assert response.json()["invalid_parameters"] == [
        {"name": "callback", "reason": admin_url_reason(url)}
    ]


@pytest.mark.parametrize(
    "url", ["gopher://127.0.0.1:4010/_", "file:///etc/passwd", "ftp://e.com/x", "http:///nohost"]
)
def test_a_callback_must_be_http_or_https(manual, url):
    response = manual.send(message("sms-text", callback=url))
    assert response.json()["invalid_parameters"] == [
        {"name": "callback", "reason": scheme_reason(url)}
    ]


def test_the_sink_and_other_hosts_paths_stay_allowed(manual, admin, receiver):
    sink = manual.send(message("sms-text", callback=manual.url + "/_sandbox/sink/mine"))
    elsewhere = manual.send(message("sms-text", callback=receiver.url + "/_sandboxed/status"))
    assert (sink.status_code, elsewhere.status_code) == (202, 202)
    manual.sandbox.advance(60)
    sunk = admin("GET", "/webhooks", params={"message_uuid": sink.json()["message_uuid"]})
    assert {w["state"] for w in sunk["items"]} == {"delivered"}
    assert len(receiver.on("/_sandboxed/status")) == 2


def test_admin_refuses_webhook_urls_to_itself_or_other_schemes(manual, admin):
    before = admin("GET", "/applications")
    own = manual.url + "/_sandbox/reset"
    bad = admin(
        "PUT", "/defaults", 400, json={"status_url": "gopher://e.com/x", "inbound_url": own}
    )
    assert bad["invalid_parameters"] == [
        {"name": "status_url", "reason": scheme_reason("gopher://e.com/x")},
        {"name": "inbound_url", "reason": admin_url_reason(own)},
    ]
    app = admin("PUT", "/applications/a1", 400, json={"status_url": "file:///tmp/x"})
    assert app["invalid_parameters"] == [
        {"name": "status_url", "reason": scheme_reason("file:///tmp/x")}
    ]
    assert admin("GET", "/applications") == before
    sink = {"status_url": manual.url + "/_sandbox/sink/s", "inbound_url": None}
    assert admin("PUT", "/defaults", json=sink) == sink


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        (
            {"status_url": "http://127.0.0.1:4010/_sandbox/reset"},
            {},
            "status_url (--status-url / SANDBOX_STATUS_URL / config file): "
            + admin_url_reason("http://127.0.0.1:4010/_sandbox/reset"),
        ),
        (
            {},
            {"SANDBOX_INBOUND_URL": "gopher://e.com/"},
            "inbound_url (--inbound-url / SANDBOX_INBOUND_URL / config file): "
            + scheme_reason("gopher://e.com/"),
        ),
        (
            {},
            {"SANDBOX_APPLICATION_STATUS_URL": "app1=file:///x"},
            "application app1 status_url (--application-status-url / "
            "SANDBOX_APPLICATION_STATUS_URL / config file): " + scheme_reason("file:///x"),
        ),
    ],
)
def test_settings_refuse_such_webhook_urls(cli, environ, expected):
    from sandbox.config import ConfigError, load_settings

    with pytest.raises(ConfigError) as caught:
        load_settings(cli, environ)
    assert str(caught.value) == expected


def run_serve(*flags: str) -> subprocess.CompletedProcess:
    """`serve` expected to stop on its own, before it listens."""
    from .processes import serve_command

    return subprocess.run(serve_command(*flags), capture_output=True, text=True, timeout=60)


def test_serve_stops_with_a_config_error_for_such_a_url(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("applications:\n  app1:\n    inbound_url: http://h:1/_sandbox/inbound\n")
    result = run_serve("--config", str(config))
    assert result.returncode == 2
    assert result.stderr == (
        "messages-sandbox: application app1 inbound_url (--application-inbound-url / "
        "SANDBOX_APPLICATION_INBOUND_URL / config file): "
        f"{admin_url_reason('http://h:1/_sandbox/inbound')}\n"
    )


@pytest.mark.parametrize(
    ("host", "token", "warned"),
    [
        ("0.0.0.0", None, True),
        ("::", None, True),
        ("192.0.2.7", None, True),
        ("sandbox.internal", None, True),
        ("0.0.0.0", "s3cret", False),
        ("127.0.0.1", None, False),
        ("127.0.0.2", None, False),
        ("::1", None, False),
        ("[::1]", None, False),
        ("localhost", None, False),
    ],
)
def test_exposure_warning_only_beyond_loopback_without_a_token(host, token, warned):
    from sandbox.exposure import exposure_warning

    warning = exposure_warning(host, token)
    assert (warning is not None) == warned
    if warned:
        assert warning.startswith(f"--host {host} without --admin-token: the admin API")


def test_serve_warns_at_start_when_open_beyond_loopback(tmp_path):
    """Checked on a start that stops before listening (a missing --spec): a test must not
    open a port on every interface of the machine it runs on."""
    result = run_serve("--host", "0.0.0.0", "--spec", str(tmp_path / "missing.yml"))
    assert result.returncode == 2
    warning, error = result.stderr.splitlines()
    assert "WARNING sandbox.server: --host 0.0.0.0 without --admin-token" in warning
    assert "Set --admin-token T (SANDBOX_ADMIN_TOKEN), or listen on 127.0.0.1." in warning
    assert error.startswith("messages-sandbox: ") and "missing.yml" in error
    quiet = run_serve("--host", "0.0.0.0", "--admin-token", "t", "--spec", "missing.yml")
    assert quiet.returncode == 2 and "WARNING" not in quiet.stderr
