"""Authentication over HTTP: Basic and RS256 JWT, and a 401 body that says what was wrong."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .samples import VALID

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
UNAUTHORIZED = "https://developer.nexmo.com/api-errors#unauthorized"
EXPIRED = "https://developer.nexmo.com/api-errors#jwt-expired"
MULTIPLE = "https://developer.nexmo.com/api-errors#multiple-auth-methods"
HOW_TO = "send 'Authorization: Basic base64(api_key:api_secret)' or 'Authorization: Bearer <JWT>'"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return new_key()


def token(key, alg: str = "RS256", **claims) -> str:
    body = {"application_id": APP_ID, "iat": int(time.time()), "jti": str(uuid.uuid4())}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg)


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def verifying(app_key):
    """A sandbox that knows APP_ID's public key and one api key."""
    from sandbox.config import Application, Settings
    from sandbox.server import Server

    from .conftest import Client

    settings = Settings(
        port=0,
        applications={APP_ID: Application(APP_ID, public_key=public_pem(app_key))},
        api_keys={"key1": "secret1"},
    )
    server = Server(settings).start()
    yield Client(server)
    server.stop()


def assert_401(response, detail: str, type_: str = UNAUTHORIZED) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": type_,
        "title": "Invalid credentials supplied"
        if type_ != MULTIPLE
        else "Multiple authentication methods supplied",
        "detail": detail,
        "instance": response.headers["X-Nexmo-Trace-Id"],
    }


def test_basic_and_jwt_are_accepted_without_configuration(client, app_key):
    assert client.send(VALID["sms-text"], basic("anykey:anysecret")).status_code == 202
    response = client.send(VALID["sms-text"], "Bearer " + token(app_key))
    assert response.status_code == 202
    record = client.sandbox.store.get_message(response.json()["message_uuid"])
    assert (record["application_id"], record["api_key"]) == (APP_ID, None)


def test_jwt_without_exp_is_valid_for_15_minutes(client, app_key):
    fresh = token(app_key, iat=int(time.time()) - 14 * 60)
    assert client.send(VALID["sms-text"], "Bearer " + fresh).status_code == 202


def test_verified_jwt_and_configured_basic_credentials_pass(verifying, app_key):
    assert verifying.send(VALID["sms-text"], "Bearer " + token(app_key)).status_code == 202
    assert verifying.send(VALID["sms-text"], basic("key1:secret1")).status_code == 202


UNCONFIGURED_FAILURES = {
    "missing header": (None, f"Missing Authorization header: {HOW_TO}."),
    "unknown scheme": ("Token abc", f"Unsupported authorization scheme 'Token': {HOW_TO}."),
    "basic not base64": ("Basic ***", "Malformed Basic credentials: not valid base64."),
    "basic without colon": (
        basic("justakey"),
        "Malformed Basic credentials: expected base64 of api_key:api_secret.",
    ),
    "basic empty secret": (
        basic("key:"),
        "Malformed Basic credentials: expected base64 of api_key:api_secret.",
    ),
    "bearer not a jwt": ("Bearer not.a.jwt", "Malformed JWT: Invalid header padding."),
    "bearer empty": ("Bearer ", f"The Bearer scheme was sent without credentials: {HOW_TO}."),
    "basic empty": ("Basic", f"The Basic scheme was sent without credentials: {HOW_TO}."),
}


@pytest.mark.parametrize("case", sorted(UNCONFIGURED_FAILURES))
def test_malformed_credentials_answer_401_saying_which(client, case):
    header, detail = UNCONFIGURED_FAILURES[case]
    assert_401(client.send(VALID["sms-text"], header), detail)


def test_jwt_must_be_rs256(client):
    hs = token("a-shared-secret-of-at-least-32-bytes!!", alg="HS256")
    assert_401(
        client.send(VALID["sms-text"], "Bearer " + hs), "JWT alg must be RS256; got 'HS256'."
    )


def test_jwt_missing_claims(client, app_key):
    bad = token(app_key, application_id=None, jti=None)
    assert_401(
        client.send(VALID["sms-text"], "Bearer " + bad),
        "JWT is missing the claim(s) application_id, jti.",
    )


def test_jwt_with_past_exp_is_expired(client, app_key):
    bad = token(app_key, exp=1_600_000_000)
    assert_401(
        client.send(VALID["sms-text"], "Bearer " + bad),
        "JWT expired at 2020-09-13T12:26:40Z.",
        EXPIRED,
    )


def test_jwt_without_exp_older_than_15_minutes_is_expired(client, app_key):
    bad = token(app_key, iat=1_600_000_000)
    assert_401(
        client.send(VALID["sms-text"], "Bearer " + bad),
        "JWT issued at 2020-09-13T12:26:40Z has no exp claim, so it was valid for 15 minutes only.",
        EXPIRED,
    )


def test_jwt_not_yet_valid(client, app_key):
    bad = token(app_key, nbf=4_102_444_800)
    assert_401(
        client.send(VALID["sms-text"], "Bearer " + bad),
        "JWT is not valid before 2100-01-01T00:00:00Z.",
    )


def test_both_schemes_in_one_header(client, app_key):
    header = basic("k:s") + ", Bearer " + token(app_key)
    assert_401(
        client.send(VALID["sms-text"], header),
        "The request carries both Basic and Bearer credentials: "
        "use exactly one authentication method.",
        MULTIPLE,
    )


def test_credentials_in_query_string(client):
    url = f"{client.url}/v0.1/messages?api_key=k&api_secret=s"
    alone = client.http.post(url, json=VALID["sms-text"])
    assert_401(
        alone,
        "Credentials are accepted in the Authorization header only, not the query string: "
        f"{HOW_TO}.",
    )
    both = client.http.post(url, json=VALID["sms-text"], headers={"Authorization": basic("k:s")})
    assert_401(
        both,
        "The request carries an Authorization header and credentials in the query string: "
        "use exactly one authentication method.",
        MULTIPLE,
    )


def test_bad_signature_is_refused_when_the_key_is_known(verifying):
    forged = token(new_key())
    assert_401(
        verifying.send(VALID["sms-text"], "Bearer " + forged),
        f"JWT signature does not match the public key of application '{APP_ID}'.",
    )


def test_unknown_application_is_refused_when_keys_are_configured(verifying, app_key):
    other = token(app_key, application_id="other-app")
    assert_401(
        verifying.send(VALID["sms-text"], "Bearer " + other),
        "Unknown application 'other-app': the sandbox has no public key for it.",
    )


def test_configured_api_keys_are_enforced(verifying):
    assert_401(verifying.send(VALID["sms-text"], basic("nobody:x")), "Unknown api_key 'nobody'.")
    assert_401(
        verifying.send(VALID["sms-text"], basic("key1:wrong")),
        "Wrong api_secret for api_key 'key1'.",
    )


def test_auth_is_checked_before_the_body(client):
    response = client.post_raw(b"not json", {"Content-Type": "application/json"})
    assert response.status_code == 401


def test_still_healthy_after_auth_failures(client, verifying):
    assert client.healthy() and verifying.healthy()


@pytest.mark.parametrize(
    "claims",
    [{"iat": 1e20}, {"iat": float("inf")}, {"iat": float("nan")}, {"exp": -1e20}, {"iat": True}],
)
def test_absurd_jwt_times_are_401s(client, app_key, claims):
    import json as jsonlib

    header = {"alg": "RS256", "typ": "JWT"}
    body = {"application_id": APP_ID, "iat": int(time.time()), "jti": "j", **claims}
    # PyJWT will not encode NaN/Infinity; build the token by hand, as a broken client might.
    segments = [
        base64.urlsafe_b64encode(jsonlib.dumps(part).encode()).rstrip(b"=").decode()
        for part in (header, body)
    ]
    response = client.send(VALID["sms-text"], "Bearer " + ".".join([*segments, "c2ln"]))
    assert response.status_code == 401, response.text
    assert response.json()["type"].endswith(("#unauthorized", "#jwt-expired"))


def test_only_rsa_public_keys_are_accepted(client):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    response = client.http.put(client.url + "/_sandbox/applications/ed", json={"public_key": pem})
    assert response.status_code == 400
    assert "must be RSA" in response.json()["invalid_parameters"][0]["reason"]
