"""The shipped document: unchanged, a valid OpenAPI 3 document, and what we read from it."""

from __future__ import annotations

import hashlib

import pytest
import yaml
from openapi_spec_validator import validate

from sandbox.channels import CHANNELS
from sandbox.resources import data_dir
from sandbox.spec import SHIPPED_SHA256, SHIPPED_SPEC, Spec, SpecError, split_error_description

SHIPPED = data_dir("spec") / SHIPPED_SPEC


def test_shipped_document_is_the_pinned_one_and_valid_openapi():
    # Spec.load skips the 0.6 s OpenAPI check for exactly this document; this test is that check.
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == SHIPPED_SHA256
    validate(yaml.safe_load(SHIPPED.read_text()))


def test_x_errors_catalogue_has_all_44_codes_with_short_titles():
    errors = Spec.load().errors
    assert len(errors) == 44
    assert errors[1300].title == "Not part of the provider network"
    assert errors[1120].title == "Illegal Sender Address - rejected"
    assert errors[1290].title == "Pre-Paid - Insufficient funds"
    assert errors[1370].title == "Expired access Token"
    assert errors[1000].description.startswith("You have exceeded")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Throttled - You have exceeded it", "Throttled"),
        ("Invalid params  -  The value", "Invalid params"),
        ("A - b  -  c", "A - b"),
        ("No separator", "No separator"),
    ],
)
def test_error_titles_split_on_the_right_dash(text, title):
    assert split_error_description(text)[0] == title


def test_channel_table_only_uses_values_the_document_allows():
    spec = Spec.load()
    assert set(CHANNELS) == set(spec.enum("ToProperty", "type"))
    content_types = set(spec.enum("MessageProperty", "content", "type"))
    for channel in CHANNELS.values():
        assert set(channel.content_types) <= content_types


def test_another_document_is_checked_in_full(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("openapi: 3.0.0\ninfo: {}\npaths: {}\n")
    with pytest.raises(SpecError, match="not a valid OpenAPI document"):
        Spec.load(broken)


def test_a_changed_document_with_new_codes_is_read(tmp_path):
    document = yaml.safe_load(SHIPPED.read_text())
    document["x-errors"][1999] = {"description": "Brand new - A code from a later spec"}
    path = tmp_path / "newer.yml"
    path.write_text(yaml.safe_dump(document))
    assert Spec.load(path).errors[1999].title == "Brand new"
