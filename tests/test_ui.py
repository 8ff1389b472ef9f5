"""The web UI's pages and fragments, the change feed and the UI session, over real HTTP.

The browser-driven tests are in test_ui_browser.py; these need no browser.
"""

from __future__ import annotations

import json
import math
import re
import time

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from sandbox.web.guard import SESSION_LIFETIME, session_value

from .samples import VALID, message

UI = "/_sandbox/ui/"


@pytest.fixture(scope="module")
def document() -> OpenAPI:
    from sandbox.web.admin import ADMIN_DOCUMENT

    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(yaml.safe_load(ADMIN_DOCUMENT.read_text()), config=config)


def checked(document: OpenAPI, response: requests.Response, status: int = 200) -> dict:
    """The JSON answer, after checking its status and its shape against the admin document."""
    assert response.status_code == status, response.text
    document.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )
    return response.json()


def links(html: str, kind: str) -> list[str]:
    return re.findall(rf'href="(/_sandbox/ui/{kind}/[^"#]+)"', html)


def test_root_redirects_to_the_ui(manual):
    response = manual.get("/", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(UI)
    page = manual.get(UI)
    assert page.status_code == 200
    assert "No messages yet" in page.text
    assert manual.get("/_sandbox/ui/static/htmx.min.js").status_code == 200
    # "/" is the UI's now: other verbs get the API's 405 in its error shape (was a 404)
    wrong = manual.http.post(manual.url + "/", json={})
    assert wrong.status_code == 405
    assert wrong.json()["type"].endswith("#wrong-verb") and wrong.headers["Allow"] == "GET"


def test_conversations_group_both_directions_newest_first(manual, document):
    manual.send(VALID["sms-text"])
    manual.send(VALID["whatsapp-text"])
    whatsapp = VALID["whatsapp-text"]
    customer, business = whatsapp["to"]["number"], whatsapp["from"]["number"]
    injected = manual.http.post(
        f"{manual.url}/_sandbox/inbound",
        json={"channel": "whatsapp", "from": customer, "to": business, "content": {"text": "Hi"}},
    )
    assert injected.status_code == 201
    items = checked(document, manual.get("/_sandbox/conversations"))["items"]
    assert [(i["channel"], i["business"], i["customer"]) for i in items] == [
        ("whatsapp", business, customer),
        ("sms", "Acme", "447700900000"),
    ]
    assert (items[0]["messages"], items[0]["outbound"], items[0]["inbound"]) == (2, 1, 1)
    assert items[0]["last"]["direction"] == "inbound"
    assert items[1]["last"]["content"] == {"type": "text", "text": "Your code is 1234"}


def test_conversation_filters_and_search(manual, document):
    manual.send(VALID["sms-text"])
    manual.send(message("sms-text", to__number="447700900777", message__content__text="Parcel"))
    manual.send(VALID["mms-image"])

    def customers(**params) -> list[str]:
        answer = checked(document, manual.get("/_sandbox/conversations", params=params))
        return [i["customer"] for i in answer["items"]]

    assert customers(channel="mms") == ["14155550100"]
    assert customers(q="parcel") == ["447700900777"]
    assert customers(q="900000") == ["447700900000"]
    assert customers(api_key="key1", channel="sms") == ["447700900777", "447700900000"]
    assert customers(api_key="someone-else") == []
    assert customers(q="%") == []  # LIKE wildcards are searched for literally
    page = manual.get(UI, params={"q": "parcel", "fragment": "1"})
    assert page.status_code == 200
    assert "447700900777" in page.text and "447700900000" not in page.text
    assert "<html" not in page.text  # a fragment: only the live part


def test_thread_shows_bubbles_ticks_and_an_error_title(manual):
    manual.send(message("sms-text", to__number="15550001300"))  # error-codes: 1300
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 60})
    listing = manual.get(UI).text
    (thread_link,) = links(listing, "c")
    html = manual.get(thread_link).text
    assert 'class="bubble outbound"' in html
    ticks = re.search(r'<span class="ticks ([^"]+)" title="([^"]+)"', html)
    assert ticks is not None
    assert "error" in ticks.group(1)
    assert ticks.group(2) == "undeliverable: error 1300 Not part of the provider network"
    assert "✗" in html
    # SMS has no inbound messages in the spec: the reply box is there but disabled, with why.
    assert re.search(r'<button type="submit" disabled aria-describedby="no-reply"', html)
    assert "has no inbound sms messages" in html


def test_thread_orders_scripted_replies_after_their_message(manual):
    body = message("whatsapp-text", to__number="15550009000", message__content__text="ping")
    manual.send(body)
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 30})
    (thread_link,) = links(manual.get(UI).text, "c")
    html = manual.get(thread_link).text
    bubbles = re.findall(r'class="bubble (\w+)[^"]*".*?<p class="text">([^<]*)</p>', html, re.S)
    assert bubbles == [("outbound", "ping"), ("inbound", "You said: ping")]
    assert "status-read" in html
    assert re.search(r'<button type="submit" >Send</button>', html)


def test_message_page_shows_the_request_answer_and_attempts(manual, receiver):
    sent = manual.send(VALID["sms-text"]).json()["message_uuid"]
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 60})
    receiver.wait_for(2, "/status")
    html = manual.get(f"/_sandbox/ui/m/{sent}").text
    detail = manual.get(f"/_sandbox/messages/{sent}").json()
    assert detail["trace_id"] in html
    assert "default" in html  # the scenario
    assert html.count('<table class="attempts">') == 2
    assert f"curl -X POST {receiver.url}/status" in html
    assert "&#34;order-42&#34;" in html or "order-42" in html
    assert manual.get("/_sandbox/ui/m/nope").status_code == 404


def test_failing_webhook_shows_error_and_next_retry(manual, receiver):
    from .receiver import Behaviour

    receiver.default = Behaviour(500)
    sent = manual.send(VALID["sms-text"]).json()["message_uuid"]
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 1})
    receiver.wait_for(1, "/status")
    manual.sandbox.dispatcher.wait_idle(5)
    html = manual.get(f"/_sandbox/ui/m/{sent}").text
    assert '<tr class="bad">' in html and "HTTP 500" in html
    assert 'class="next-retry"' in html
    log = manual.get("/_sandbox/ui/webhooks", params={"state": "pending", "fragment": "1"}).text
    assert "state-pending" in log and "state-delivered" not in log


def test_change_feed_cursor(manual, document):
    start = checked(document, manual.get("/_sandbox/changes"))
    assert start["changes"] == [] and start["more"] is False
    sent = manual.send(VALID["sms-text"]).json()["message_uuid"]
    after_send = checked(
        document, manual.get("/_sandbox/changes", params={"since": start["cursor"]})
    )
    assert [(c["type"], c["message_uuid"]) for c in after_send["changes"]] == [("message", sent)]
    manual.http.post(f"{manual.url}/_sandbox/clock/advance", json={"seconds": 60})
    later = checked(
        document, manual.get("/_sandbox/changes", params={"since": after_send["cursor"]})
    )
    kinds = [(c["type"], c.get("status")) for c in later["changes"] if c["type"] == "event"]
    assert kinds == [("event", "submitted"), ("event", "delivered")]
    assert [c["status_code"] for c in later["changes"] if c["type"] == "attempt"] == [200, 200]
    quiet = checked(document, manual.get("/_sandbox/changes", params={"since": later["cursor"]}))
    assert quiet["changes"] == [] and quiet["cursor"] == later["cursor"]
    everything = checked(document, manual.get("/_sandbox/changes", params={"since": "0"}))
    assert len(everything["changes"]) == len(after_send["changes"]) + len(later["changes"])
    bad = manual.get("/_sandbox/changes", params={"since": "yesterday"})
    problem = checked(document, bad, 400)
    assert problem["invalid_parameters"][0]["name"] == "since"


def test_change_cursor_survives_a_restart(start_sandbox, tmp_path):
    db = str(tmp_path / "journal.db")
    first = start_sandbox(db=db, clock="manual")
    first.send(VALID["sms-text"])
    cursor = first.get("/_sandbox/changes").json()["cursor"]
    first.server.stop()
    second = start_sandbox(db=db, clock="manual")
    # (the first message's overdue events may occur at the restart: that is news)
    before = second.get("/_sandbox/changes", params={"since": cursor}).json()["changes"]
    assert [c for c in before if c["type"] == "message"] == []
    sent = second.send(VALID["sms-text"]).json()["message_uuid"]
    news = second.get("/_sandbox/changes", params={"since": cursor}).json()["changes"]
    assert [c["message_uuid"] for c in news if c["type"] == "message"] == [sent]


def read_event(lines) -> dict[str, str]:
    """The next SSE event (comment lines skipped) as {field: value}."""
    event: dict[str, str] = {}
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else raw
        if line == "" and event:
            return event
        if line and not line.startswith(":"):
            name, _, value = line.partition(": ")
            event[name] = value
    raise AssertionError("the stream ended")


def test_event_stream_sends_changes_as_they_happen(manual):
    with manual.http.get(f"{manual.url}/_sandbox/changes/stream", stream=True, timeout=5) as s:
        assert s.status_code == 200
        assert s.headers["Content-Type"].startswith("text/event-stream")
        lines = s.iter_lines()
        ready = read_event(lines)
        assert ready["event"] == "ready"
        sent = manual.send(VALID["sms-text"]).json()["message_uuid"]
        change = read_event(lines)
        assert change["event"] == "change"
        data = json.loads(change["data"])
        assert data["changes"][0] == {
            "type": "message",
            "message_uuid": sent,
            "direction": "outbound",
            "channel": "sms",
            "status": None,
        }
        assert change["id"] == data["cursor"] != ready["id"]


def test_event_stream_resumes_from_last_event_id(manual):
    cursor = manual.get("/_sandbox/changes").json()["cursor"]
    sent = manual.send(VALID["sms-text"]).json()["message_uuid"]
    headers = {"Last-Event-ID": cursor}
    url = f"{manual.url}/_sandbox/changes/stream"
    with manual.http.get(url, stream=True, timeout=5, headers=headers) as s:
        lines = s.iter_lines()
        assert read_event(lines)["id"] == cursor
        assert json.loads(read_event(lines)["data"])["changes"][0]["message_uuid"] == sent


# the session ---------------------------------------------------------------------------


@pytest.fixture
def guarded(start_sandbox):
    return start_sandbox(clock="manual", admin_token="s3cret")


def test_ui_asks_for_the_token_once_and_keeps_a_strict_cookie(guarded):
    page = guarded.get(UI, allow_redirects=False)
    assert page.status_code == 302 and "/_sandbox/ui/login" in page.headers["Location"]
    assert guarded.get("/_sandbox/changes").status_code == 401
    wrong = guarded.http.post(f"{guarded.url}/_sandbox/ui/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    right = guarded.http.post(
        f"{guarded.url}/_sandbox/ui/login",
        data={"token": "s3cret", "next": "/_sandbox/ui/webhooks"},
        allow_redirects=False,
    )
    assert right.status_code == 302 and right.headers["Location"] == "/_sandbox/ui/webhooks"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "s3cret" not in cookie
    # the session (kept by requests' cookie jar) opens the UI, the feed and the admin API
    assert guarded.get(UI).status_code == 200
    assert guarded.get("/_sandbox/changes").status_code == 200
    assert guarded.get("/_sandbox/messages").status_code == 200
    assert guarded.get("/_sandbox/clock").status_code == 200


def test_login_refuses_cross_site_posts_and_foreign_redirects(guarded):
    url = f"{guarded.url}/_sandbox/ui/login"
    cross = guarded.http.post(
        url, data={"token": "s3cret"}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 401 and "Set-Cookie" not in cross.headers
    sneaky = guarded.http.post(
        url, data={"token": "s3cret"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert sneaky.status_code == 401
    away = guarded.http.post(
        url, data={"token": "s3cret", "next": "https://evil.example/"}, allow_redirects=False
    )
    assert away.headers["Location"] == UI


def cookie_name(client) -> str:
    return f"sandbox_ui_session_{client.server.port}"


def test_a_forged_cookie_is_refused(guarded):
    guarded.http.cookies.set(cookie_name(guarded), "0" * 64)
    assert guarded.get("/_sandbox/changes").status_code == 401
    assert guarded.get("/_sandbox/messages").status_code == 401
    # a well-formed session for another token, or expired, or issued in the future
    now = int(time.time())
    for value in (
        session_value("other", now),
        session_value("s3cret", now - SESSION_LIFETIME - 1),
        session_value("s3cret", now + 3600),
    ):
        guarded.http.cookies.set(cookie_name(guarded), value)
        assert guarded.get("/_sandbox/changes").status_code == 401, value
        assert guarded.get("/_sandbox/messages").status_code == 401, value
        assert guarded.get(UI, allow_redirects=False).status_code == 302, value
    guarded.http.cookies.set(cookie_name(guarded), session_value("s3cret", now - 60))
    assert guarded.get("/_sandbox/messages").status_code == 200


def log_in(client, token: str = "s3cret", **kw) -> requests.Response:
    return client.http.post(
        f"{client.url}/_sandbox/ui/login", data={"token": token}, allow_redirects=False, **kw
    )


def test_the_session_expires_and_is_named_after_the_port(start_sandbox):
    one = start_sandbox(admin_token="s3cret")
    two = start_sandbox(admin_token="other")
    two.http = one.http  # one browser, two sandboxes on one host: cookies ignore the port
    assert log_in(one).status_code == 302 and log_in(two, "other").status_code == 302
    jar = {cookie.name for cookie in one.http.cookies}
    assert jar == {cookie_name(one), cookie_name(two)}
    assert one.get("/_sandbox/messages").status_code == 200  # not overwritten by two's
    assert two.get("/_sandbox/messages").status_code == 200
    cookie = log_in(one).headers["Set-Cookie"]
    assert f"Max-Age={SESSION_LIFETIME}" in cookie and "Secure" not in cookie
    issued, _, mac = one.http.cookies[cookie_name(one)].partition(".")
    assert abs(int(issued) - time.time()) < 60 and len(mac) == 64


def test_the_session_cookie_is_secure_over_tls(start_sandbox, tmp_path):
    served = start_sandbox(tls=True, db=str(tmp_path / "j.db"), admin_token="s3cret")
    cookie = log_in(served, verify=served.server.tls_cert).headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie


def test_event_streams_are_capped_and_their_slots_come_back(start_sandbox, document):
    small = start_sandbox(max_streams=1)
    url = small.url + "/_sandbox/changes/stream"
    first = requests.get(url, stream=True, timeout=5)
    assert first.status_code == 200
    refused = checked(document, requests.get(url, timeout=5), 503)
    assert refused["title"] == "Too many event streams" and "--max-streams" in refused["detail"]
    assert small.healthy()
    first.close()
    # the stream notices its client left at its next heartbeat (2 s) and frees the slot
    deadline = time.monotonic() + 6
    while (again := requests.get(url, stream=True, timeout=5)).status_code == 503:
        assert time.monotonic() < deadline, "the slot never came back"
        time.sleep(0.2)
    assert again.status_code == 200
    again.close()


def test_event_streams_do_not_take_the_threads_that_answer_sends(start_sandbox):
    one = start_sandbox(threads=1, max_streams=2)
    url = one.url + "/_sandbox/changes/stream"
    streams = [requests.get(url, stream=True, timeout=5) for _ in range(2)]
    try:
        assert [s.status_code for s in streams] == [200, 200]
        assert one.send(VALID["sms-text"], timeout=3).status_code == 202
        assert one.get("/_sandbox/messages", timeout=3).status_code == 200
    finally:
        for s in streams:
            s.close()


def test_stopping_ends_live_streams_before_the_journal_closes(start_sandbox):
    live = start_sandbox(clock="manual")
    with requests.get(f"{live.url}/_sandbox/changes/stream", stream=True, timeout=5) as s:
        lines = s.iter_lines()
        assert read_event(lines)["event"] == "ready"
        started = time.monotonic()
        live.server.close()
        assert time.monotonic() - started < 4  # one heartbeat, not the stream's 60 s
        assert live.server.app.app.extensions["budgets"]["streams"].held == 0
        assert live.sandbox.store.closed
        with pytest.raises(AssertionError, match="the stream ended"):
            read_event(lines)


def test_odd_cookies_and_logins_without_a_token(guarded, manual):
    guarded.http.cookies.set(cookie_name(guarded), "é" * 10)
    assert guarded.get("/_sandbox/changes").status_code == 401
    login = manual.get("/_sandbox/ui/login", allow_redirects=False)
    assert login.status_code == 302 and login.headers["Location"] == UI


def test_content_types_are_drawn_sensibly(manual):
    manual.send(VALID["whatsapp-template"])
    manual.send(VALID["whatsapp-image"])
    whatsapp = VALID["whatsapp-template"]
    customer, business = whatsapp["to"]["number"], whatsapp["from"]["number"]
    for content in (
        {"type": "location", "location": {"lat": "51.5", "long": "-0.12", "name": "Kiosk"}},
        {"type": "file", "file": {"url": "https://example.com/terms.pdf"}},
    ):
        injected = manual.http.post(
            f"{manual.url}/_sandbox/inbound",
            json={"channel": "whatsapp", "from": customer, "to": business, "content": content},
        )
        assert injected.status_code == 201, injected.text
    manual.sandbox.dispatcher.wait_idle(5)
    html = manual.get(f"/_sandbox/ui/c/whatsapp/{business}/{customer}").text
    params = re.findall(r'<span class="param">([^<]*)</span>', html)
    assert "9b6b4fcb_da19_4a26_8fe8_78074a91b584:verify" in html and params == [
        "Acme",
        "64873",
        "10",
    ]
    assert '<img src="https://example.com/menu.jpeg" alt="Menu"' in html
    assert re.search(r"📍 Kiosk, [^<(]+ \(51\.5, -0\.12\)", html)  # Faker adds an address
    assert '<a href="https://example.com/terms.pdf" rel="noreferrer noopener">file:' in html


def test_custom_and_unknown_content_is_summarised():
    from sandbox.conversations import describe

    custom = describe({"type": "custom", "custom": {"type": "reaction", "emoji": "👍"}})
    assert custom == {
        "type": "custom",
        "text": None,
        "summary": '{"type": "reaction", "emoji": "👍"}',
    }
    v1_reaction = describe({"type": "reaction", "reaction": {"action": "react", "emoji": "👍"}})
    assert v1_reaction["summary"] == '{"action": "react", "emoji": "👍"}'
    long = describe({"type": "custom", "custom": {"x": "y" * 500}})
    assert len(long["summary"]) == 120


def test_feed_cursor_rounds_like_the_journal_on_half_microseconds():
    """A time whose microseconds end in exactly .5 (Python rounds it to even, SQLite away
    from zero) must not come back as news after the cursor that covers it."""
    from sandbox import feed
    from sandbox.store import Store

    at = 1_796_178_491.0
    while not ((at * 1e6) % 1 == 0.5 and int(at * 1e6) % 2 == 0):
        at = math.nextafter(at, math.inf)  # two steps from here
    store = Store()
    row = {"uuid": "u1", "direction": "outbound", "received_at": at, "request": {}}
    (event_id,) = store.add_message(
        row, [{"position": 0, "kind": "status", "step": {"status": "submitted"}, "due_at": at}]
    )
    store.occurred(event_id, "u1", at, "{}", None, "unsent", "submitted")
    cursor = feed.head(store)
    assert feed.changes(store, cursor)["changes"] == []
    everything = feed.changes(store, feed.Cursor())
    assert [c["type"] for c in everything["changes"]] == ["message", "event"]
    assert everything["cursor"] == str(cursor)
    store.close()
