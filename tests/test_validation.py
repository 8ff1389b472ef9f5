"""Every rule of the document and of the channels, with its exact 400 body, over HTTP."""

from __future__ import annotations

import pytest

from sandbox.problems import INVALID_PARAMS_TITLE, INVALID_PARAMS_TYPE

from .samples import message

E164 = (
    "must be an E.164 number: digits only, country code first, no leading + or 00, "
    "7 to 15 digits (e.g. 447700900000)"
)
CHANNELS = "sms, viber_service_msg, messenger, whatsapp, mms"

CASES = {
    "to.type unknown": (
        message("sms-text", to__type="telegram", from__type="telegram"),
        [
            ("to.type", f"must be one of {CHANNELS}; got 'telegram'"),
            ("from.type", f"must be one of {CHANNELS}; got 'telegram'"),
        ],
    ),
    "to missing": (message("sms-text", to=None), [("to", "is required")]),
    "to.type missing": (
        message("sms-text", to__type=None),
        [("to.type", f"is required; one of {CHANNELS}")],
    ),
    "message.content missing": (
        message("sms-text", message={}),
        [("message.content", "is required")],
    ),
    "to is not an object": (
        message("sms-text", to="447700900000"),
        [("to", "must be an object; got a string")],
    ),
    "from.type differs": (
        message("sms-text", from__type="whatsapp", from__number="447700900001"),
        [("from.type", "must be the same as to.type (sms); got 'whatsapp'")],
    ),
    "sms text over 1000": (
        message("sms-text", message__content__text="x" * 1001),
        [("message.content.text", "must be at most 1000 characters for sms; got 1001")],
    ),
    "viber text over 1000": (
        message("viber-text", message__content__text="x" * 1001),
        [
            (
                "message.content.text",
                "must be at most 1000 characters for viber_service_msg; got 1001",
            )
        ],
    ),
    "messenger text over 640": (
        message("messenger-text", message__content__text="é" * 641),
        [("message.content.text", "must be at most 640 characters for messenger; got 641")],
    ),
    "whatsapp text over 4096 (schema limit)": (
        message("whatsapp-text", message__content__text="x" * 4097),
        [("message.content.text", "must be at most 4096 characters; got 4097")],
    ),
    "empty text": (
        message("sms-text", message__content__text=""),
        [("message.content.text", "must not be empty")],
    ),
    "content type not for channel": (
        message(
            "sms-text", message__content={"type": "image", "image": {"url": "https://e.com/a.png"}}
        ),
        [("message.content.type", "'image' is not supported by sms; it supports text")],
    ),
    "mms text": (
        message("mms-image", message__content={"type": "text", "text": "hi"}),
        [("message.content.type", "'text' is not supported by mms; it supports image")],
    ),
    "template outside whatsapp": (
        message("viber-text", message__content={"type": "template", "template": {"name": "a:b"}}),
        [
            (
                "message.content.type",
                "'template' is not supported by viber_service_msg; it supports text, image, custom",
            )
        ],
    ),
    "custom outside whatsapp, messenger and viber": (
        message("sms-text", message__content={"type": "custom", "custom": {"a": 1}}),
        [("message.content.type", "'custom' is not supported by sms; it supports text")],
    ),
    "custom on mms": (
        message("mms-image", message__content={"type": "custom", "custom": {"a": 1}}),
        [("message.content.type", "'custom' is not supported by mms; it supports image")],
    ),
    "custom without its object": (
        message("whatsapp-text", message__content={"type": "custom"}),
        [("message.content.custom", "is required when message.content.type is custom")],
    ),
    "content type unknown": (
        message("sms-text", message__content__type="sticker"),
        [
            (
                "message.content.type",
                "must be one of text, image, audio, video, file, template, custom; got 'sticker'",
            )
        ],
    ),
    "named content object missing": (
        message("whatsapp-image", message__content={"type": "image", "text": "no image"}),
        [("message.content.image", "is required when message.content.type is image")],
    ),
    "text missing": (
        message("sms-text", message__content={"type": "text"}),
        [("message.content.text", "is required when message.content.type is text")],
    ),
    "sms to.id instead of number": (
        message("sms-text", to={"type": "sms", "id": "12345"}),
        [("to.number", "is required for sms (it addresses by number, not id)")],
    ),
    "messenger with numbers": (
        message("messenger-text", to={"type": "messenger", "number": "447700900000"}),
        [("to.id", "is required for messenger (it addresses by id, not number)")],
    ),
    "viber from.number": (
        message("viber-text", **{"from": {"type": "viber_service_msg", "number": "447700900001"}}),
        [("from.id", "is required for viber_service_msg (it addresses by id, not number)")],
    ),
    "number with plus": (
        message("whatsapp-text", to__number="+447700900000"),
        [("to.number", f"{E164}; got '+447700900000'")],
    ),
    "number with 00": (
        message("sms-text", to__number="00447700900000"),
        [("to.number", f"{E164}; got '00447700900000'")],
    ),
    "number with spaces": (
        message("viber-text", to__number="44 7700 900000"),
        [("to.number", f"{E164}; got '44 7700 900000'")],
    ),
    "number too long for the schema": (
        message("sms-text", to__number="1" * 51),
        [("to.number", "must be at most 50 characters; got 51")],
    ),
    "whatsapp from not a number": (
        message("whatsapp-text", from__number="Acme"),
        [("from.number", f"{E164}; got 'Acme'")],
    ),
    "sms sender neither a number nor an id": (
        message("sms-text", from__number="+447700900001"),
        [
            (
                "from.number",
                f"{E164}, or an alphanumeric sender ID (at least one letter); got '+447700900001'",
            )
        ],
    ),
    "mms from neither a short code nor a number": (
        message("mms-image", from__number="Acme"),
        [
            (
                "from.number",
                "must be a short code of 5 or 6 digits or "
                f"{E164.removeprefix('must be ')} for mms; got 'Acme'",
            )
        ],
    ),
    "media url too short (schema)": (
        message("mms-image", message__content__image__url="http://a"),
        [("message.content.image.url", "must be at least 10 characters; got 8")],
    ),
    "media url too long (schema)": (
        message(
            "whatsapp-image", message__content__image__url="https://e.com/" + "a" * 1990 + ".png"
        ),
        [("message.content.image.url", "must be at most 2000 characters; got 2008")],
    ),
    "media url missing": (
        message("messenger-image", message__content__image={"caption": "x"}),
        [("message.content.image.url", "is required")],
    ),
    "caption empty (schema)": (
        message("whatsapp-image", message__content__image__caption=""),
        [("message.content.image.caption", "must not be empty")],
    ),
    "template name missing": (
        message("whatsapp-template", message__content__template={"parameters": []}),
        [("message.content.template.name", "is required")],
    ),
    "template parameter not a string": (
        message("whatsapp-template", message__content__template__parameters=[{"default": 1}]),
        [("message.content.template.parameters[0].default", "must be a string; got a number")],
    ),
    "messenger message_tag without tag": (
        message("messenger-text", message__messenger={"category": "message_tag"}),
        [("message.messenger.tag", "is required when message.messenger.category is message_tag")],
    ),
    "messenger category unknown": (
        message("messenger-text", message__messenger={"category": "promo"}),
        [
            (
                "message.messenger.category",
                "must be one of response, update, message_tag; got 'promo'",
            )
        ],
    ),
    "viber ttl too small": (
        message("viber-text", message__viber_service_msg__ttl=29),
        [("message.viber_service_msg.ttl", "must be between 30 and 259200; got 29")],
    ),
    "viber ttl too large": (
        message("viber-text", message__viber_service_msg__ttl=259201),
        [("message.viber_service_msg.ttl", "must be between 30 and 259200; got 259201")],
    ),
    "viber ttl not integer": (
        message("viber-text", message__viber_service_msg__ttl="600"),
        [("message.viber_service_msg.ttl", "must be an integer; got a string")],
    ),
    "viber category unknown": (
        message("viber-text", message__viber_service_msg__category="marketing"),
        [
            (
                "message.viber_service_msg.category",
                "must be one of transaction, promotion; got 'marketing'",
            )
        ],
    ),
    "whatsapp policy unknown": (
        message("whatsapp-template", message__whatsapp__policy="strict"),
        [("message.whatsapp.policy", "must be one of fallback, deterministic; got 'strict'")],
    ),
    "whatsapp locale not BCP 47": (
        message("whatsapp-template", message__whatsapp__locale="en_GB"),
        [("message.whatsapp.locale", "must be a BCP 47 locale such as en-GB; got 'en_GB'")],
    ),
    "client_ref over 40": (
        message("sms-text", client_ref="r" * 41),
        [("client_ref", "must be at most 40 characters; got 41")],
    ),
    "client_ref not a string": (
        message("sms-text", client_ref=42),
        [("client_ref", "must be a string; got a number")],
    ),
}


# Rules relaxed because a published request or a documented asynchronous error contradicts a
# synchronous refusal (docs/rules.md gives the source of each): each is now a 202.
RELAXED = {
    "whatsapp custom (published: curl send-location.sh)": message(
        "whatsapp-text",
        message__content={
            "type": "custom",
            "custom": {"type": "location", "location": {"latitude": 37.7, "longitude": -122.4}},
        },
    ),
    "messenger custom (published: curl send-template.sh)": message(
        "messenger-text",
        message__content={"type": "custom", "custom": {"attachment": {"type": "template"}}},
    ),
    "viber custom (document prose: Viber supports custom)": message(
        "viber-text", message__content={"type": "custom", "custom": {"type": "button"}}
    ),
    "template name whatsapp:hsm:technology:nexmo:verify (published: curl send-mtm.sh)": message(
        "whatsapp-template", message__content__template__name="whatsapp:hsm:technology:nexmo:verify"
    ),
    "template name without namespace (1022 is asynchronous)": message(
        "whatsapp-template", message__content__template__name="verify"
    ),
    "template parameter without default (1022 is asynchronous)": message(
        "whatsapp-template", message__content__template__parameters=[{"value": "1"}]
    ),
    "mms from a US long code (docs: 10DLC and toll-free numbers send MMS)": message(
        "mms-image", from__number="14155550100"
    ),
    "sms sender id over 11 characters (no source for a refusal)": message(
        "sms-text", from__number="AcmeCorporation"
    ),
    "sms with an unused to.id beside to.number (no source for a refusal)": message(
        "sms-text", to={"type": "sms", "number": "447700900000", "id": "12345"}
    ),
    "media url not http (1380 is asynchronous)": message(
        "messenger-video", message__content__video__url="file:///tmp/v.mp4"
    ),
    "whatsapp image gif (1382 is asynchronous)": message(
        "whatsapp-image", message__content__image__url="https://e.com/a.gif"
    ),
    "viber image gif (1382 is asynchronous)": message(
        "viber-image", message__content__image__url="https://e.com/a.gif"
    ),
    "mms image bmp (1382 is asynchronous)": message(
        "mms-image", message__content__image__url="https://e.com/a.bmp"
    ),
    "messenger audio wav (1382 is asynchronous)": message(
        "messenger-audio", message__content__audio__url="https://e.com/a.wav"
    ),
    "whatsapp audio from a URL without extension (1382 is asynchronous)": message(
        "whatsapp-audio", message__content__audio__url="https://cdn.example.com/media?id=42"
    ),
    "whatsapp video mov (1382 is asynchronous)": message(
        "whatsapp-video", message__content__video__url="https://e.com/v.mov"
    ),
    "whatsapp file zip (1382 is asynchronous)": message(
        "whatsapp-file", message__content__file__url="https://e.com/f.zip"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_answers_400_with_every_violation(client, case):
    body, expected = CASES[case]
    response = client.send(body)

    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": INVALID_PARAMS_TYPE,
        "title": INVALID_PARAMS_TITLE,
        "detail": f"Found errors validating {len(expected)} of your submitted parameters.",
        "instance": response.headers["X-Nexmo-Trace-Id"],
        "invalid_parameters": [{"name": n, "reason": r} for n, r in expected],
    }


@pytest.mark.parametrize("case", sorted(RELAXED))
def test_relaxed_rule_accepts_the_request(client, case):
    response = client.send(RELAXED[case])

    assert response.status_code == 202, response.text
    assert client.get(f"/_sandbox/messages/{response.json()['message_uuid']}").status_code == 200


def test_all_violations_of_one_request_are_listed(client):
    body = {
        "to": {"type": "sms", "number": "+1"},
        "from": {"type": "whatsapp", "number": "Acme"},
        "message": {"content": {"type": "image", "image": {"url": "https://e.com/a.png"}}},
        "client_ref": "x" * 41,
    }
    names = [p["name"] for p in client.send(body).json()["invalid_parameters"]]
    assert sorted(names) == ["client_ref", "from.type", "message.content.type", "to.number"]


def test_whatsapp_text_of_4096_unicode_characters_is_accepted(client):
    response = client.send(message("whatsapp-text", message__content__text="✅" * 4096))
    assert response.status_code == 202


def test_server_is_still_healthy_after_every_rule(client):
    assert client.healthy()
