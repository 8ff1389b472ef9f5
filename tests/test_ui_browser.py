"""The web UI in a real browser: Playwright for Python driving Debian's Chromium.

Playwright never downloads a browser here: it launches /usr/bin/chromium (installed by
.ci/run with apt-get). Without it these tests are skipped, saying so. The screenshots in
docs/img/ are taken by these tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .receiver import Behaviour
from .samples import message

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"


def screenshot(page, name: str, tmp_path: Path, **options) -> None:
    """Take the docs' screenshot; it replaces docs/img/NAME only with UPDATE_SCREENSHOTS=1,
    so that a test run leaves the work tree as it found it."""
    import os

    target = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    path = target / name
    page.screenshot(path=str(path), **options)
    assert path.read_bytes().startswith(b"\x89PNG")


LIVE = 2000  # ms: a change must show within a second (plus the page's 150 ms debounce)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 900, "height": 760})
    page = context.new_page()
    page.set_default_timeout(5000)
    yield page
    context.close()


def expect():
    from playwright.sync_api import expect

    return expect


def advance(client, seconds: float) -> None:
    answer = client.http.post(f"{client.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


def test_a_sent_message_appears_and_its_ticks_move_live(manual, page):
    page.goto(manual.url + "/")
    expect()(page.locator("#live-state")).to_have_text("live")
    expect()(page.locator(".empty")).to_be_visible()
    manual.send(message("sms-text", message__content__text="Your code is 9876"))
    row = page.locator(".conversations li")
    expect()(row).to_have_count(1, timeout=LIVE)
    expect()(row).to_contain_text("Your code is 9876")
    row.locator("a").click()
    bubble = page.locator(".bubble.outbound")
    expect()(bubble).to_contain_text("Your code is 9876")
    ticks = bubble.locator(".ticks")
    expect()(ticks).to_have_text("…")
    advance(manual, 1)
    expect()(ticks).to_have_attribute("title", "submitted", timeout=LIVE)
    expect()(ticks).to_have_text("✓")
    advance(manual, 60)
    expect()(ticks).to_have_attribute("title", "delivered", timeout=LIVE)
    expect()(ticks).to_have_text("✓✓")


def test_reply_as_the_customer_reaches_the_inbound_webhook(manual, receiver, page, tmp_path):
    customer = "15550009000"  # the conversational scenario: reads and echoes
    body = message("whatsapp-text", to__number=customer, message__content__text="Order shipped")
    shop = body["from"]["number"]
    manual.send(body)
    advance(manual, 30)
    page.goto(manual.url + "/_sandbox/ui/")
    page.locator(".conversations a").first.click()
    expect()(page.locator(".bubble.inbound")).to_contain_text("You said: Order shipped")
    expect()(page.locator(".bubble.outbound .ticks")).to_have_class(re.compile("status-read"))
    reply = page.get_by_label("Reply")
    reply.focus()  # keyboard only from here: type, Enter submits
    page.keyboard.type("Where is it now?")
    page.keyboard.press("Enter")
    expect()(page.locator(".bubble.inbound").last).to_contain_text("Where is it now?", timeout=LIVE)
    expect()(reply).to_have_value("")
    inbound = [r.json for r in receiver.wait_for(2, "/inbound")]
    assert inbound[-1]["message"]["content"] == {"type": "text", "text": "Where is it now?"}
    assert inbound[-1]["from"]["number"] == customer
    assert inbound[-1]["to"]["number"] == shop
    screenshot(page, "ui-conversation.png", tmp_path)


def test_sms_has_no_reply_box_and_says_why(manual, page):
    manual.send(message("sms-text"))
    page.goto(manual.url + "/_sandbox/ui/")
    page.locator(".conversations a").first.click()
    expect()(page.get_by_role("button", name="Send")).to_be_disabled()
    expect()(page.locator("#no-reply")).to_contain_text("no inbound sms messages")


def test_a_failing_webhook_and_its_retries_show_live(manual, receiver, page, tmp_path):
    receiver.default = Behaviour(503)
    sent = manual.send(message("sms-text")).json()["message_uuid"]
    advance(manual, 1)
    receiver.wait_for(1, "/status")
    page.goto(f"{manual.url}/_sandbox/ui/m/{sent}")
    first = page.locator(".event").first
    expect()(first.locator(".attempts tbody tr")).to_have_count(1)
    expect()(first.locator(".attempts tbody tr")).to_contain_text("503")
    expect()(first.locator(".next-retry")).to_be_visible()
    expect()(first.locator(".curl-text")).to_contain_text(f"curl -X POST {receiver.url}/status")
    receiver.default = Behaviour(200)
    advance(manual, 5)  # the first retry is 5 s after a failure
    expect()(first.locator(".attempts tbody tr")).to_have_count(2, timeout=LIVE)
    expect()(first.locator(".attempts tbody tr").last).to_contain_text("200")
    expect()(first.locator(".state")).to_have_text("delivered")
    page.goto(f"{manual.url}/_sandbox/ui/webhooks")
    page.get_by_label("State").select_option("delivered")
    expect()(page.locator(".webhooks li").first).to_contain_text("delivered")


def test_retry_now_delivers_a_failing_webhook_live(start_sandbox, receiver, page, tmp_path):
    signed = start_sandbox(
        clock="manual", status_url=receiver.url + "/status", signature_secret="s" * 32
    )
    receiver.default = Behaviour(500, body=b'{"error": "database down"}')
    sent = signed.send(message("sms-text")).json()["message_uuid"]
    advance(signed, 1)
    page.goto(f"{signed.url}/_sandbox/ui/m/{sent}")
    first = page.locator(".event").first
    rows = first.locator(".attempts tbody tr")
    expect()(rows).to_have_count(1, timeout=LIVE)
    advance(signed, 5)  # the first retry, 5 s later: 500 again, shown live
    expect()(rows).to_have_count(2, timeout=LIVE)
    expect()(rows.last).to_contain_text("HTTP 500")
    attempt = first.locator("details.attempt").last
    attempt.locator("summary").click()
    expect()(attempt.locator(".request")).to_contain_text("Authorization: Bearer ")
    expect()(attempt.locator(".response")).to_contain_text('{"error": "database down"}')
    expect()(first.locator(".curl-text")).to_contain_text("-H 'Authorization: Bearer ")

    receiver.default = Behaviour(200)
    first.get_by_role("button", name="Retry now").click()  # no clock moved: now, not in 10 s
    expect()(rows).to_have_count(3, timeout=LIVE)
    expect()(rows.last).to_contain_text("200")
    expect()(rows.last).to_contain_text("(retry)")
    expect()(first.locator(".state")).to_have_text("delivered", timeout=LIVE)
    expect()(first.get_by_role("button", name="Resend")).to_be_visible()
    # then the delivered status, which waited behind it (per-message order)
    got = [r.json["status"] for r in receiver.wait_for(4, "/status")]
    assert got == ["submitted"] * 3 + ["delivered"]
    first.locator("details.attempt").first.locator("summary").click()
    screenshot(page, "ui-attempts.png", tmp_path, full_page=True)


def test_token_login_then_live_with_the_session_cookie(start_sandbox, page):
    guarded = start_sandbox(clock="manual", admin_token="s3cret")
    page.goto(guarded.url + "/")
    expect()(page.get_by_role("heading", name="Admin token")).to_be_visible()
    page.get_by_label("Admin token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_role("alert")).to_contain_text("not the admin token")
    page.get_by_label("Admin token").fill("s3cret")
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Conversations")).to_be_visible()
    expect()(page.locator("#live-state")).to_have_text("live")
    guarded.send(message("sms-text"))
    expect()(page.locator(".conversations li")).to_have_count(1, timeout=LIVE)
    cookie = page.context.cookies()[0]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")


def test_narrow_screen_and_dark_mode(manual, browser):
    context = browser.new_context(viewport={"width": 360, "height": 700}, color_scheme="dark")
    page = context.new_page()
    manual.send(message("whatsapp-text", to__number="15550009000"))
    advance(manual, 30)
    page.goto(manual.url + "/_sandbox/ui/")
    page.locator(".conversations a").first.click()
    expect()(page.locator(".bubble.inbound")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator(".bubble.outbound .meta a").click()  # the message's details
    expect()(page.locator(".event").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for path in ("", "webhooks", "controls"):
        page.goto(f"{manual.url}/_sandbox/ui/{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 20, 23)"
    context.close()


def test_controls_advance_the_manual_clock(manual, page):
    page.goto(manual.url + "/_sandbox/ui/controls")
    before = page.locator("#clock-now").inner_text()
    page.get_by_label("Advance by").fill("3600")
    page.get_by_role("button", name="Advance").click()
    expect()(page.locator("#clock-now")).not_to_have_text(before, timeout=LIVE)
    now = manual.get("/_sandbox/clock").json()["now"]
    expect()(page.locator("#clock-now")).to_have_text(now)


def test_the_page_polls_when_no_stream_is_free(start_sandbox, page):
    import requests

    small = start_sandbox(clock="manual", max_streams=1)  # one stream slot, taken below
    held = requests.get(small.url + "/_sandbox/changes/stream", stream=True, timeout=5)
    assert held.status_code == 200
    try:
        page.goto(small.url + "/_sandbox/ui/")
        expect()(page.locator("#live-state")).to_have_text("polling")
        small.send(message("sms-text", message__content__text="Seen by polling"))
        row = page.locator(".conversations li")
        expect()(row).to_contain_text("Seen by polling", timeout=LIVE + 1000)
    finally:
        held.close()
