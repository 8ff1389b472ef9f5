"""RS256 application tokens for tests (one key for the whole run; no key is configured)."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def bearer(application_id: str) -> str:
    claims = {"application_id": application_id, "iat": int(time.time()), "jti": str(uuid.uuid4())}
    return "Bearer " + jwt.encode(claims, KEY, algorithm="RS256")


def applications(**status_urls: str):
    """Applications by id with a status URL each."""
    from sandbox.config import Application

    return {name: Application(name, status_url=url) for name, url in status_urls.items()}


def pem(key: rsa.RSAPrivateKey, public: bool = False) -> str:
    """The key as PEM text: PKCS#8 private, or SubjectPublicKeyInfo public."""
    if public:
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
