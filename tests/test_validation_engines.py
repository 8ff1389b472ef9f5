"""The fast schema check (jsonschema-rs) and the detailed one (jsonschema) must agree."""

from __future__ import annotations

import pytest

from sandbox.spec import Spec

from .samples import VALID
from .test_validation import CASES

BODIES = [body for body, _ in CASES.values()] + list(VALID.values())


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec.load()


@pytest.mark.parametrize("index", range(len(BODIES)))
def test_fast_and_detailed_validators_agree(spec, index):
    body = BODIES[index]
    detailed = spec.validator("NewMessage").is_valid(body)
    assert spec.is_valid("NewMessage")(body) is detailed
