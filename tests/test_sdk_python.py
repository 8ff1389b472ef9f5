"""Vonage's Python SDK (`vonage` 4.x, pinned in pyproject's test extras) against the sandbox.

The SDK builds `https://{api_host}/v1/messages` URLs only, so the sandbox serves TLS
(`--tls`, its certificate kept next to the journal) and the SDK trusts that certificate
through `REQUESTS_CA_BUNDLE`, set for the SDK's calls only. Each message is built with the
SDK's own models (`vonage_messages`); each case names the Vonage snippet it follows
(github.com/Vonage/vonage-python-code-snippets, `messages/…`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from vonage import Auth, HttpClientOptions, Vonage
from vonage_http_client import HttpRequestError, NotFoundError, RateLimitedError
from vonage_messages import models as m
from vonage_messages.models.whatsapp import BaseWhatsapp

from sandbox.config import Application, Settings
from sandbox.server import Server
from sandbox.tls import CERT_NAME

from .failover import assert_whatsapp_then_sms
from .tokens import pem

APPLICATION_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_KEY, API_SECRET = "pykey", "pysecret"
TYPES = "https://developer.vonage.com/api-errors/messages#"
TO = "447700900000"
WA = "447700900001"  # a WhatsApp business number
IMAGE, VIDEO = "https://example.com/image.jpg", "https://example.com/video.mp4"
AUDIO, FILE = "https://example.com/audio.mp3", "https://example.com/file.pdf"
PSID, PAGE = "2456891981102343", "107083064136738"  # Messenger ids, as in the snippets


class WhatsappReaction(BaseWhatsapp):
    """A reaction: `vonage-messages` 1.8.1 has no model for it, so a user declares one."""

    reaction: dict
    message_type: str = "reaction"


def card(title: str, media: str) -> m.RcsCard:
    reply = m.RcsSuggestionReply(text=title, postback_data=title.lower())
    return m.RcsCard(title=title, text="Pick me", media_url=media, suggestions=[reply])


# name -> (snippet it follows, the SDK model to send)
CASES: dict[str, tuple[str, m.BaseMessage]] = {
    "sms/text": ("sms/send-sms.py", m.Sms(to=TO, from_="Acme", text="Hi", client_ref="py-sdk")),
    "mms/image": (
        "mms/send-image.py",
        m.MmsImage(to=TO, from_="14155550101", image=m.MmsResource(url=IMAGE, caption="A cat")),
    ),
    "mms/vcard": (
        "mms/send-vcard.py",
        m.MmsVcard(
            to=TO, from_="14155550101", vcard=m.MmsResource(url="https://example.com/c.vcf")
        ),
    ),
    "mms/audio": (
        "mms/send-audio.py",
        m.MmsAudio(to=TO, from_="14155550101", audio=m.MmsResource(url=AUDIO)),
    ),
    "mms/video": (
        "mms/send-video.py",
        m.MmsVideo(to=TO, from_="14155550101", video=m.MmsResource(url=VIDEO)),
    ),
    "mms/file": (
        "mms/send-image.py (as MmsFile)",
        m.MmsFile(to=TO, from_="14155550101", file=m.MmsResource(url=FILE)),
    ),
    "mms/text": (
        "sms/send-sms.py (as MmsText)",
        m.MmsText(to=TO, from_="14155550101", text="Hello"),
    ),
    "mms/content": (
        "the SDK's MmsContent model",
        m.MmsContent(
            to=TO,
            from_="14155550101",
            content=[
                m.MmsContentItemImage(url=IMAGE, caption="A cat"),
                m.MmsContentItemVcard(url="https://example.com/c.vcf"),
            ],
        ),
    ),
    "rcs/text": (
        "rcs/send-suggested-reply.py",
        m.RcsText(
            to=TO,
            from_="AcmeRCS",
            text="Yes?",
            suggestions=[m.RcsSuggestionReply(text="Yes", postback_data="yes")],
        ),
    ),
    "rcs/image": (
        "rcs/send-image.py",
        m.RcsImage(to=TO, from_="AcmeRCS", image=m.RcsResource(url=IMAGE)),
    ),
    "rcs/video": (
        "rcs/send-video.py",
        m.RcsVideo(to=TO, from_="AcmeRCS", video=m.RcsResource(url=VIDEO)),
    ),
    "rcs/file": (
        "rcs/send-file.py",
        m.RcsFile(to=TO, from_="AcmeRCS", file=m.RcsResource(url=FILE)),
    ),
    "rcs/card": (
        "rcs/send-rich-card-standalone.py",
        m.RcsCardMessage(
            to=TO,
            from_="AcmeRCS",
            card=card("Cat", IMAGE),
            rcs=m.RcsOptionsCard(card_orientation="HORIZONTAL", image_alignment="LEFT"),
        ),
    ),
    "rcs/carousel": (
        "rcs/send-rich-card-carousel.py",
        m.RcsCarouselMessage(
            to=TO,
            from_="AcmeRCS",
            carousel=m.RcsCarousel(cards=[card("Photo", IMAGE), card("Video", VIDEO)]),
            rcs=m.RcsOptionsCarousel(card_width="MEDIUM"),
        ),
    ),
    "rcs/custom": (
        "rcs/send-rich-card-carousel.py (as RcsCustom)",
        m.RcsCustom(to=TO, from_="AcmeRCS", custom={"contentMessage": {"text": "Hello"}}),
    ),
    "whatsapp/text": ("whatsapp/send-text.py", m.WhatsappText(to=TO, from_=WA, text="Hello")),
    "whatsapp/image": (
        "whatsapp/send-image.py",
        m.WhatsappImage(to=TO, from_=WA, image=m.WhatsappImageResource(url=IMAGE, caption="A cat")),
    ),
    "whatsapp/audio": (
        "whatsapp/send-audio.py",
        m.WhatsappAudio(to=TO, from_=WA, audio=m.WhatsappAudioResource(url=AUDIO)),
    ),
    "whatsapp/video": (
        "whatsapp/send-video.py",
        m.WhatsappVideo(to=TO, from_=WA, video=m.WhatsappVideoResource(url=VIDEO)),
    ),
    "whatsapp/file": (
        "whatsapp/send-file.py",
        m.WhatsappFile(to=TO, from_=WA, file=m.WhatsappFileResource(url=FILE, name="file.pdf")),
    ),
    "whatsapp/template": (
        "whatsapp/send-template.py",
        m.WhatsappTemplate(
            to=TO,
            from_=WA,
            template=m.WhatsappTemplateResource(name="ns:verify", parameters=["123"]),
            whatsapp=m.WhatsappTemplateSettings(policy="deterministic", locale="en_GB"),
        ),
    ),
    "whatsapp/sticker": (
        "whatsapp/send-sticker-by-id.py",
        m.WhatsappSticker(
            to=TO, from_=WA, sticker=m.WhatsappStickerId(id="13aaecab-2485-4255-a0a7-97a2a2f1c9ee")
        ),
    ),
    "whatsapp/reaction": (
        "the v1 document's reaction example",
        WhatsappReaction(
            to=TO,
            from_=WA,
            reaction={"action": "react", "emoji": "😀"},
            context=m.WhatsappContext(message_uuid="aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"),
        ),
    ),
    "whatsapp/custom": (
        "whatsapp/send-location.py",
        m.WhatsappCustom(
            to=TO,
            from_=WA,
            custom={
                "type": "location",
                "location": {
                    "longitude": -122.425332,
                    "latitude": 37.758056,
                    "name": "Facebook HQ",
                },
            },
        ),
    ),
    "messenger/text": (
        "messenger/send-text.py",
        m.MessengerText(
            to=PSID, from_=PAGE, text="Hello", messenger=m.MessengerOptions(category="response")
        ),
    ),
    "messenger/image": (
        "messenger/send-image.py",
        m.MessengerImage(to=PSID, from_=PAGE, image=m.MessengerResource(url=IMAGE)),
    ),
    "messenger/audio": (
        "messenger/send-audio.py",
        m.MessengerAudio(to=PSID, from_=PAGE, audio=m.MessengerResource(url=AUDIO)),
    ),
    "messenger/video": (
        "messenger/send-video.py",
        m.MessengerVideo(to=PSID, from_=PAGE, video=m.MessengerResource(url=VIDEO)),
    ),
    "messenger/file": (
        "messenger/send-file.py",
        m.MessengerFile(to=PSID, from_=PAGE, file=m.MessengerResource(url=FILE)),
    ),
    "viber_service/text": (
        "viber/send-text.py",
        m.ViberText(
            to=TO,
            from_="Acme",
            text="Shipped",
            viber_service=m.ViberTextOptions(
                category="transaction",
                action=m.ViberAction(url="https://example.com/track", text="Track it"),
            ),
        ),
    ),
    "viber_service/image": (
        "viber/send-image.py",
        m.ViberImage(to=TO, from_="Acme", image=m.ViberImageResource(url=IMAGE)),
    ),
    "viber_service/video": (
        "viber/send-video.py",
        m.ViberVideo(
            to=TO,
            from_="Acme",
            video=m.ViberVideoResource(url=VIDEO, thumb_url=IMAGE),
            viber_service=m.ViberVideoOptions(duration="52", file_size="3"),
        ),
    ),
    "viber_service/file": (
        "viber/send-file.py",
        m.ViberFile(to=TO, from_="Acme", file=m.ViberFileResource(url=FILE, name="file.pdf")),
    ),
}


def reply(n: int) -> m.RcsSuggestionReply:
    return m.RcsSuggestionReply(text="y" * 25, postback_data=f"choice-{n}")


def full_card() -> m.RcsCard:
    """A card at the SDK's limits: 200-char title, 2000-char text, 4 suggestions."""
    return m.RcsCard(
        title="t" * 200, text="x" * 2000, media_url=IMAGE, media_height="TALL",
        media_description="A cat", thumbnail_url=IMAGE, media_force_refresh=True,
        suggestions=[reply(n) for n in range(4)],
    )  # fmt: skip


RCS_ACTIONS = [
    m.RcsSuggestionActionDial(
        text="Call", postback_data="dial", phone_number=TO, fallback_url=IMAGE
    ),
    m.RcsSuggestionActionViewLocation(
        text="Map", postback_data="map", latitude="51.5", longitude="-0.1", pin_label="Shop"
    ),
    m.RcsSuggestionActionShareLocation(text="Where?", postback_data="where"),
    m.RcsSuggestionActionOpenUrl(
        text="Open", postback_data="url", url=IMAGE, description="d" * 500
    ),
    m.RcsSuggestionActionOpenUrlWebview(
        text="View", postback_data="web", url=IMAGE, description="d", view_mode="TALL"
    ),
    m.RcsSuggestionActionCreateCalendarEvent(
        text="Add",
        postback_data="cal",
        start_time="2024-06-28T19:00:00Z",
        end_time="2024-06-28T20:00:00Z",
        title="t" * 100,
        description="d" * 500,
    ),
]

# Every optional field the SDK models, at the SDK's own limits (what its models let through,
# the real API accepted): name -> the SDK model to send.
LIMITS: dict[str, m.BaseMessage] = {
    "sms-every-option": m.Sms(
        to=TO,
        from_="Acme",
        text="x" * 3200,
        ttl=20,
        trusted_recipient=True,
        sms=m.SmsOptions(encoding_type="unicode", content_id="c1", entity_id="e1", pool_id="p1"),
        client_ref="r" * 100,
        webhook_url="https://example.com/status",
        webhook_version="v0.1",
    ),
    "sms-longest-ttl": m.Sms(to=TO, from_="Acme", text="x", ttl=604800),
    "mms-ttl-bounds": m.MmsImage(
        to=TO,
        from_="Acme",
        image=m.MmsResource(url=IMAGE, caption="c" * 3000),
        ttl=300,
        trusted_recipient=False,
    ),
    "rcs-text-eleven-suggestions": m.RcsText(
        to=TO,
        from_="Acme-RCS_&",
        text="x" * 3072,
        ttl=259200,
        suggestions=[reply(n) for n in range(11)],
        rcs=m.RcsOptions(category="service-request"),
    ),
    "rcs-every-action": m.RcsText(to=TO, from_="AcmeRCS", text="Choose", suggestions=RCS_ACTIONS),
    "rcs-card-vertical": m.RcsCardMessage(
        to=TO,
        from_="AcmeRCS",
        card=full_card(),
        rcs=m.RcsOptionsCard(card_orientation="VERTICAL", category="promotion"),
    ),
    "rcs-carousel-ten-cards": m.RcsCarouselMessage(
        to=TO,
        from_="AcmeRCS",
        carousel=m.RcsCarousel(cards=[full_card() for _ in range(10)]),
        suggestions=[reply(n) for n in range(11)],
        rcs=m.RcsOptionsCarousel(card_width="SMALL"),
    ),
    "whatsapp-text-context": m.WhatsappText(
        to=TO,
        from_=WA,
        text="x" * 4096,
        context=m.WhatsappContext(message_uuid="aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"),
    ),
    "whatsapp-sticker-url": m.WhatsappSticker(
        to=TO, from_=WA, sticker=m.WhatsappStickerUrl(url="https://example.com/s.webp")
    ),
    "whatsapp-template-defaults": m.WhatsappTemplate(
        to=TO, from_=WA, template=m.WhatsappTemplateResource(name="ns:verify")
    ),
    "whatsapp-custom-quick-reply": m.WhatsappCustom(
        to=TO,
        from_=WA,
        custom={
            "type": "template",
            "template": {
                "name": "dentist",
                "language": {"policy": "deterministic", "code": "en"},
                "components": [
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": 0,
                        "parameters": [{"type": "payload", "payload": "Yes"}],
                    }
                ],
            },
        },
    ),
    "messenger-message-tag": m.MessengerText(
        to="1" * 50,
        from_="2" * 50,
        text="x" * 640,
        messenger=m.MessengerOptions(category="message_tag", tag="CONFIRMED_EVENT_UPDATE"),
    ),
    "viber-every-option": m.ViberText(
        to=TO,
        from_="A" * 50,
        text="x" * 1000,
        viber_service=m.ViberTextOptions(
            category="promotion",
            ttl=30,
            type="template",
            action=m.ViberAction(url=IMAGE, text="t" * 30),
        ),
    ),
    "viber-image-action": m.ViberImage(
        to=TO,
        from_="Acme",
        image=m.ViberImageResource(url=IMAGE, caption="A cat"),
        viber_service=m.ViberImageOptions(
            category="transaction", action=m.ViberAction(url=IMAGE, text="Buy")
        ),
    ),
    "viber-file-name": m.ViberFile(
        to=TO,
        from_="Acme",
        file=m.ViberFileResource(url=FILE, name="n" * 25),
        viber_service=m.ViberFileOptions(category="transaction", ttl=259200),
    ),
}


class Sandbox:
    """A TLS sandbox on a free loopback port, and a verified HTTP session for its admin API."""

    def __init__(self, server: Server, cert: str) -> None:
        self.server, self.cert, self.url = server, cert, server.url
        self.http = requests.Session()
        self.http.verify = cert

    @property
    def host(self) -> str:
        """What the SDK takes as `api_host`: host and port, no scheme."""
        return self.url.removeprefix("https://")

    def journal(self, message_uuid: str) -> dict:
        response = self.http.get(f"{self.url}/_sandbox/messages/{message_uuid}", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, private_key) -> Iterator[Sandbox]:
    """One sandbox for the module: TLS, the manual clock (nothing is delivered by itself)."""
    db = tmp_path_factory.mktemp("pysdk") / "journal.db"
    application = Application(APPLICATION_ID, public_key=pem(private_key, public=True))
    settings = Settings().with_overrides(
        port=0,
        log_level="warning",
        tls=True,
        db=str(db),
        clock="manual",
        api_keys={API_KEY: API_SECRET},
        applications={APPLICATION_ID: application},
    )
    server = Server(settings).start()
    yield Sandbox(server, str(db.parent / CERT_NAME))
    server.stop()


@pytest.fixture(params=["basic", "jwt"])
def sdk(request, sandbox, private_key, monkeypatch) -> Vonage:
    """The SDK aimed at the sandbox, with Basic (key + secret) or JWT (application) auth."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.cert)  # requests reads it per request
    if request.param == "basic":
        auth = Auth(api_key=API_KEY, api_secret=API_SECRET)
    else:
        auth = Auth(application_id=APPLICATION_ID, private_key=pem(private_key))
    return Vonage(auth, HttpClientOptions(api_host=sandbox.host))


def sent_body(sdk: Vonage) -> dict:
    """The JSON body of the SDK's last request, as it went over the wire."""
    return json.loads(sdk.http_client.last_request.body)


def expected_credentials(sdk: Vonage) -> tuple[str | None, str | None]:
    return (None, APPLICATION_ID) if sdk.http_client.auth.application_id else (API_KEY, None)


def assert_journaled(sdk: Vonage, sandbox: Sandbox, message: m.BaseMessage) -> str:
    """Send with the SDK; the sandbox answered 202 and journaled the very body the SDK sent."""
    response = sdk.messages.send(message)
    assert sdk.http_client.last_response.status_code == 202
    assert uuid.UUID(response.message_uuid).version == 4
    assert response.workflow_id is None
    body = sent_body(sdk)
    assert body == message.model_dump(mode="json", by_alias=True, exclude_none=True)
    entry = sandbox.journal(response.message_uuid)
    assert (entry["request"], entry["channel"]) == (body, body["channel"])
    assert (entry["api_key"], entry["application_id"]) == expected_credentials(sdk)
    return response.message_uuid


@pytest.mark.parametrize("name", list(CASES))
def test_the_sdk_sends_every_channel_and_type(sdk, sandbox, name):
    assert_journaled(sdk, sandbox, CASES[name][1])
    body = sent_body(sdk)
    assert f"{body['channel']}/{body['message_type']}" == name


@pytest.mark.parametrize("name", list(LIMITS))
def test_the_sdk_at_its_own_limits_is_accepted(sdk, sandbox, name):
    assert_journaled(sdk, sandbox, LIMITS[name])


def test_a_failover_answers_a_workflow_id(sdk, sandbox):
    first = m.RcsText(to=TO, from_="AcmeRCS", text="RCS first")
    second = m.Sms(to=TO, from_="Acme", text="SMS second")
    response = sdk.messages.send(first, failover=[second])
    assert response.workflow_id
    body = sent_body(sdk)
    assert body["failover"] == [second.model_dump(mode="json", by_alias=True, exclude_none=True)]
    entry = sandbox.journal(response.message_uuid)
    assert entry["request"] == body
    assert entry["response"]["body"]["workflow_id"] == response.workflow_id


def test_sdk_failover_workflow_end_to_end(tmp_path, receiver, monkeypatch):
    """WhatsApp rejected 1340 -> SMS delivered, sent by the Python SDK, every webhook checked
    (the Node SDK's twin is in test_v1_node_sdk.py)."""
    settings = Settings().with_overrides(
        port=0,
        log_level="warning",
        tls=True,
        db=str(tmp_path / "journal.db"),
        clock="manual",
        api_keys={API_KEY: API_SECRET},
        status_url=receiver.url + "/status",
    )
    with Server(settings) as server:
        sandbox = Sandbox(server, str(tmp_path / CERT_NAME))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.cert)
        sdk = Vonage(
            Auth(api_key=API_KEY, api_secret=API_SECRET), HttpClientOptions(api_host=sandbox.host)
        )
        first = m.WhatsappText(to="15550001340", from_=WA, text="Your parcel arrives today")
        second = m.Sms(to=TO, from_="Acme", text="Your parcel arrives today")
        sent = sdk.messages.send(first, failover=[second])
        ended = sandbox.http.get(
            f"{sandbox.url}/_sandbox/workflows/{sent.workflow_id}", params={"wait": 10}, timeout=15
        ).json()
    assert ended["workflow_id"] == sent.workflow_id
    assert_whatsapp_then_sms(ended, sent.message_uuid, [r.json for r in receiver.on("/status")])


def inject_whatsapp_inbound(sandbox: Sandbox) -> str:
    inbound = {"channel": "whatsapp", "from": TO, "to": WA}
    response = sandbox.http.post(f"{sandbox.url}/_sandbox/inbound", json=inbound, timeout=5)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["message_uuid"]


def test_mark_whatsapp_message_read(sdk, sandbox):
    inbound_uuid = inject_whatsapp_inbound(sandbox)
    indicator = m.ReplyingIndicatorText(show=True)
    assert sdk.messages.mark_whatsapp_message_read(inbound_uuid, indicator) is None
    last = sdk.http_client.last_response
    assert (last.request.method, last.status_code) == ("PATCH", 202)
    assert sent_body(sdk) == {
        "status": "read",
        "replying_indicator": {"show": True, "type": "text"},
    }
    assert sandbox.journal(inbound_uuid)["status"] == "read"


def test_revoke_an_rcs_message(sdk, sandbox):
    sent = assert_journaled(sdk, sandbox, m.RcsText(to=TO, from_="AcmeRCS", text="Take it back"))
    assert sdk.messages.revoke_rcs_message(sent) is None
    assert sdk.http_client.last_response.status_code == 202
    assert sent_body(sdk) == {"status": "revoked"}
    assert sandbox.journal(sent)["status"] == "revoked"


def test_updating_an_unknown_message_is_not_found(sdk):
    with pytest.raises(NotFoundError) as raised:
        sdk.messages.mark_whatsapp_message_read("00000000-0000-4000-8000-000000000000")
    assert raised.value.response.headers["Content-Type"] == "application/problem+json"


def test_marking_an_outbound_message_read_is_refused(sdk, sandbox):
    sent = assert_journaled(sdk, sandbox, m.WhatsappText(to=TO, from_=WA, text="Mine"))
    error = refused(lambda: sdk.messages.mark_whatsapp_message_read(sent))
    assert error["type"] == TYPES + "1150"
    assert [p["name"] for p in error["invalid_parameters"]] == ["status"]


def refused(call: Callable[[], object], content_type: str = "application/json") -> dict:
    """The 422 body the SDK's error carries (the SDK raises HttpRequestError for a 422)."""
    with pytest.raises(HttpRequestError) as raised:
        call()
    response = raised.value.response
    assert (response.status_code, response.headers["Content-Type"]) == (422, content_type)
    body = response.json()
    assert raised.value.message.endswith(json.dumps(body, indent=4))  # shown in the message
    assert {"type", "title", "detail", "instance"} <= set(body)
    return body


# Requests the SDK's models let through and the sandbox refuses with a 422:
# name -> (send it, the answer's content type, the body's type, its invalid_parameters)
CUSTOMLESS = m.WhatsappCustom(to=TO, from_=WA)  # `custom` is optional in the SDK, required in v1
INVALID = {
    "whatsapp-custom-without-custom": (
        lambda sdk: sdk.messages.send(CUSTOMLESS),
        "application/json",
        TYPES + "1150",
        [{"name": "custom", "reason": "is required"}],
    ),
    "failover-without-custom": (
        lambda sdk: sdk.messages.send(m.Sms(to=TO, from_="Acme", text="hi"), [CUSTOMLESS]),
        "application/json",
        TYPES + "1150",
        [{"name": "failover[0].custom", "reason": "is required"}],
    ),
    # The magic recipient 15550000 + 422 answers the POST itself with a 422 Error, in the
    # gateway's problem shape (docs/v1.md: synchronous failures).
    "magic-recipient-422": (
        lambda sdk: sdk.messages.send(m.Sms(to="15550000422", from_="Acme", text="hi")),
        "application/problem+json",
        "https://developer.nexmo.com/api-errors#unprocessable-entity",
        None,
    ),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_refusals_reach_the_sdk_as_the_sandbox_422(sdk, name):
    send, content_type, error_type, parameters = INVALID[name]
    body = refused(lambda: send(sdk), content_type)
    assert body["type"] == error_type
    assert body.get("invalid_parameters") == parameters


def test_magic_recipient_answers_429_to_the_sdk(sdk):
    # urllib3's Retry in the SDK does not retry a POST, so the SDK raises at once.
    with pytest.raises(RateLimitedError) as raised:
        sdk.messages.send(m.Sms(to="15550000429", from_="Acme", text="hi"))
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"]


def test_wrong_secret_is_refused_to_the_sdk(sandbox, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.cert)
    sdk = Vonage(
        Auth(api_key=API_KEY, api_secret="wrong"), HttpClientOptions(api_host=sandbox.host)
    )
    with pytest.raises(HttpRequestError) as raised:
        sdk.messages.send(m.Sms(to=TO, from_="Acme", text="hi"))
    assert raised.value.response.status_code == 401
    assert raised.value.response.headers["Content-Type"] == "application/problem+json"


def test_without_the_certificate_the_sdk_refuses_the_sandbox(sandbox, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    sdk = Vonage(
        Auth(api_key=API_KEY, api_secret=API_SECRET), HttpClientOptions(api_host=sandbox.host)
    )
    with pytest.raises(requests.exceptions.SSLError):
        sdk.messages.send(m.Sms(to=TO, from_="Acme", text="hi"))


def test_a_jwt_signed_with_another_key_is_refused(sandbox, monkeypatch):
    # The sandbox holds the application's public key, so the SDK's signature is really checked.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.cert)
    other = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    auth = Auth(application_id=APPLICATION_ID, private_key=other)
    sdk = Vonage(auth, HttpClientOptions(api_host=sandbox.host))
    with pytest.raises(HttpRequestError) as raised:
        sdk.messages.send(m.Sms(to=TO, from_="Acme", text="hi"))
    assert raised.value.response.status_code == 401


DOC = Path(__file__).resolve().parent.parent / "docs" / "v1.md"


def test_the_documented_python_block_sends(start_sandbox, tmp_path, monkeypatch, capsys):
    """docs/v1.md's Python SDK block, run as written (its port made this sandbox's)."""
    shown = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    block = next(code for code in shown if "HttpClientOptions" in code)
    client = start_sandbox(tls=True, db=str(tmp_path / "journal.db"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / CERT_NAME))
    exec(block.replace("127.0.0.1:4010", client.url.removeprefix("https://")), {})
    message_uuid = capsys.readouterr().out.strip()
    entry = client.get(f"/_sandbox/messages/{message_uuid}").json()
    assert entry["request"]["text"] == "Hello from Python"
    assert entry["api_key"] == "key"
