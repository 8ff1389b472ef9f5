"""Authentication: an Authorization header -> a Principal, or a 401 Problem saying why.

Basic ``base64(api_key:api_secret)`` or Bearer JWT (RS256; ``application_id``, ``iat`` and
``jti`` required; without ``exp`` a token lives 15 minutes after ``iat``). Signatures are
checked against an application's public key when the sandbox has one; with no keys
configured any well-formed token is accepted and the principal says it was not verified.
JWT times are checked against the wall clock, as the client minted them with it.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .config import Application, ConfigError
from .problems import Problem, gateway, unauthorized

JWT_LIFETIME_WITHOUT_EXP = 15 * 60
LATEST_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z
CLOCK_SKEW = 30
REQUIRED_CLAIMS = ("application_id", "iat", "jti")
HOW_TO = "send 'Authorization: Basic base64(api_key:api_secret)' or 'Authorization: Bearer <JWT>'"


@dataclass(frozen=True)
class Principal:
    """Who sent a request: an api_key (Basic) or an application_id (JWT)."""

    method: str
    api_key: str | None = None
    application_id: str | None = None
    verified: bool = True

    @property
    def name(self) -> str:
        return self.application_id or self.api_key or ""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_public_keys(applications: Mapping[str, Application]) -> dict[str, Any]:
    """Parse every configured PEM once, at start-up (a bad key stops the start)."""
    keys: dict[str, Any] = {}
    if not any(app.public_key for app in applications.values()):
        return keys  # and cryptography (~10 MB) is never imported
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    for app in applications.values():
        if app.public_key:
            try:
                key = load_pem_public_key(app.public_key.encode())
            except ValueError as exc:
                raise ConfigError(
                    f"application {app.application_id}: bad public key: {exc}"
                ) from None
            if not isinstance(key, RSAPublicKey):
                raise ConfigError(
                    f"application {app.application_id}: the public key must be RSA (RS256 JWTs)"
                )
            keys[app.application_id] = key
    return keys


class Authenticator:
    """Checks credentials against the configured api keys and application public keys."""

    def __init__(
        self,
        public_keys: Callable[[], Mapping[str, Any]],
        api_keys: Mapping[str, str],
        now: Callable[[], float] = time.time,
    ) -> None:
        self.public_keys = public_keys  # read at each request: the run-time state owns them
        self.api_keys = dict(api_keys)
        self.now = now

    def authenticate(self, header: str | None, query_credentials: bool = False) -> Principal:
        """The principal behind ``header``; raises a 401 Problem that says what was wrong."""
        header = (header or "").strip()
        if query_credentials:
            raise query_credentials_problem(bool(header))
        if not header:
            raise unauthorized(f"Missing Authorization header: {HOW_TO}.")
        schemes = {part.strip().split(" ", 1)[0].lower() for part in header.split(",")}
        if {"basic", "bearer"} <= schemes:
            raise multiple_methods("both Basic and Bearer credentials")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() in ("basic", "bearer") and not credentials.strip():
            raise unauthorized(f"The {scheme} scheme was sent without credentials: {HOW_TO}.")
        if scheme.lower() == "basic":
            return self.basic(credentials.strip())
        if scheme.lower() == "bearer":
            return self.bearer(credentials.strip())
        raise unauthorized(f"Unsupported authorization scheme {scheme!r}: {HOW_TO}.")

    def basic(self, credentials: str) -> Principal:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise unauthorized("Malformed Basic credentials: not valid base64.") from None
        api_key, sep, secret = decoded.partition(":")
        if not sep or not api_key or not secret:
            raise unauthorized(
                "Malformed Basic credentials: expected base64 of api_key:api_secret."
            )
        if self.api_keys and api_key not in self.api_keys:
            raise unauthorized(f"Unknown api_key {api_key!r}.")
        if self.api_keys and self.api_keys[api_key] != secret:
            raise unauthorized(f"Wrong api_secret for api_key {api_key!r}.")
        return Principal("basic", api_key=api_key)

    def bearer(self, token: str) -> Principal:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Malformed JWT: {exc}.") from None
        if header.get("alg") != "RS256":
            raise unauthorized(f"JWT alg must be RS256; got {header.get('alg')!r}.")
        application_id = self.check_claims(claims)
        keys = self.public_keys()
        key = keys.get(application_id)
        if keys and key is None:
            raise unauthorized(
                f"Unknown application {application_id!r}: the sandbox has no public key for it."
            )
        if key is not None:
            verify_signature(jwt, token, key, application_id)
        return Principal("jwt", application_id=application_id, verified=key is not None)

    def check_claims(self, claims: dict[str, Any]) -> str:
        missing = [c for c in REQUIRED_CLAIMS if claims.get(c) in (None, "")]
        if missing:
            raise unauthorized(f"JWT is missing the claim(s) {', '.join(missing)}.")
        if not isinstance(claims["application_id"], str):
            raise unauthorized("JWT claim application_id must be a string.")
        for name in ("iat", "exp", "nbf"):
            value = claims.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise unauthorized(f"JWT claim {name} must be a number (seconds since epoch).")
            if not 0 <= value <= LATEST_TIME:  # also refuses NaN and infinities
                raise unauthorized(f"JWT claim {name} is not a time between 1970 and 9999.")
        self.check_times(claims)
        return claims["application_id"]

    def check_times(self, claims: dict[str, Any]) -> None:
        now, iat = self.now(), claims["iat"]
        if "exp" in claims and claims["exp"] <= now:
            raise expired(f"JWT expired at {iso(claims['exp'])}.")
        if "exp" not in claims and iat + JWT_LIFETIME_WITHOUT_EXP <= now:
            raise expired(
                f"JWT issued at {iso(iat)} has no exp claim, so it was valid for 15 minutes only."
            )
        if iat > now + CLOCK_SKEW:
            raise unauthorized(f"JWT iat {iso(iat)} is in the future.")
        if "nbf" in claims and claims["nbf"] > now + CLOCK_SKEW:
            raise unauthorized(f"JWT is not valid before {iso(claims['nbf'])}.")


def verify_signature(jwt: Any, token: str, key: Any, application_id: str) -> None:
    try:
        jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        raise unauthorized(
            f"JWT signature does not match the public key of application {application_id!r}."
        ) from None
    except jwt.PyJWTError as exc:
        raise unauthorized(f"JWT could not be verified: {exc}.") from None


def expired(detail: str) -> Problem:
    return unauthorized(detail, "jwt-expired")


def multiple_methods(what: str) -> Problem:
    return gateway(
        401,
        "multiple-auth-methods",
        "Multiple authentication methods supplied",
        f"The request carries {what}: use exactly one authentication method.",
    )


def query_credentials_problem(with_header: bool) -> Problem:
    if with_header:
        return multiple_methods("an Authorization header and credentials in the query string")
    return unauthorized(
        "Credentials are accepted in the Authorization header only, not the query string: "
        f"{HOW_TO}."
    )
