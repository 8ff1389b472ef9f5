"""The shipped Messages API v1 document: verbatim, valid, and its faults corrected in code."""

from __future__ import annotations

import hashlib

import jsonschema_rs
import pytest
import yaml
from openapi_spec_validator import validate

from sandbox.resources import data_dir
from sandbox.versions.v1_document import SHIPPED_V1_SHA256, SHIPPED_V1_SPEC, corrected, load_v1

SHIPPED = data_dir("spec") / SHIPPED_V1_SPEC
# From ../shared/specs/README.md: the published 1.20.0 document.
PUBLISHED_SHA256 = "7fd1271b59d84d651f7d5a9d42f65bdd79e1d9528e1b8cfc0f258f567219c6a0"


@pytest.fixture(scope="module")
def document():
    return load_v1()


def test_the_shipped_file_is_the_published_one_and_valid_openapi():
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == PUBLISHED_SHA256
    assert SHIPPED_V1_SHA256 == PUBLISHED_SHA256
    validate(yaml.safe_load(SHIPPED.read_text()))


def test_notice_gives_provenance_licence_and_checksum():
    notice = (data_dir("spec") / "NOTICE").read_text()
    for needed in ("Apache License, Version 2.0", PUBLISHED_SHA256, "api-evangelist/vonage"):
        assert needed in notice


def test_null_properties_are_dropped_so_jsonschema_rs_compiles_the_webhooks():
    raw = yaml.safe_load(SHIPPED.read_text())
    hook = raw["x-webhooks"]["inbound-message"]["{$request.body#/callback}"]["post"]
    schema = hook["requestBody"]["content"]["application/json"]["schema"]
    fixed = corrected(raw)["x-webhooks"]["inbound-message"]["{$request.body#/callback}"]
    with pytest.raises(jsonschema_rs.ValidationError, match="null is not of type"):
        jsonschema_rs.Draft4Validator({**schema, "components": raw["components"]})
    fixed_schema = fixed["post"]["requestBody"]["content"]["application/json"]["schema"]
    jsonschema_rs.Draft4Validator({**fixed_schema, "components": corrected(raw)["components"]})


@pytest.mark.parametrize("channel", ["RCS", "WhatsApp", "Messenger", "Viber", "Email"])
def test_read_and_the_base_statuses_both_pass_the_corrected_status_schemas(document, channel):
    validator = document.spec.validator(f"messageStatus{channel}")
    for status in ("submitted", "delivered", "rejected", "undeliverable", "read"):
        errors = [e for e in validator.iter_errors({"status": status}) if e.validator == "enum"]
        assert errors == [], (status, [e.message for e in errors])
    assert any(e.validator == "enum" for e in validator.iter_errors({"status": "revoked"}))


def test_every_channel_and_type_the_document_lists(document):
    assert {c: sorted(t) for c, t in document.message_schemas.items()} == {
        "sms": ["text"],
        "mms": ["audio", "content", "file", "image", "text", "vcard", "video"],
        "rcs": ["card", "carousel", "custom", "file", "image", "text", "video"],
        "whatsapp": [
            "audio",
            "custom",
            "file",
            "image",
            "reaction",
            "sticker",
            "template",
            "text",
            "video",
        ],
        "messenger": ["audio", "file", "image", "text", "video"],
        "viber_service": ["file", "image", "text", "video"],
        "email": ["content", "html", "text"],
    }


def test_error_types_come_from_the_document_with_the_recipient_type_corrected(document):
    types = {kind: error.type.rsplit("/", 1)[-1] for kind, error in document.error_types.items()}
    assert types == {
        "invalid_json": "api-errors#invalid-json",
        "channel": "messages#1100",
        "channel_params": "messages#1110",
        "sender": "messages#1120",
        "recipient": "messages#1130",
        "message_type": "messages#1140",
        "message_params": "messages#1150",
        "client_ref": "messages#1060",
    }
    listing = {kind for kind, error in document.error_types.items() if error.lists_parameters}
    assert listing == {"channel_params", "message_params"}


def test_the_x_errors_catalogue_has_its_72_codes(document):
    assert len(document.errors) == 72
    assert document.errors[1431].title == "Multiple recipients error"
